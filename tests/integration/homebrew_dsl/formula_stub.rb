# frozen_string_literal: true

# A small stand-in for Homebrew's Formula DSL, for tests: it loads a formula file the way Homebrew
# does (evaluated inside a fresh module, its class found by the name Homebrew derives from the file
# name) once for each of macOS/Linux x arm/intel, and prints as JSON what that machine would download,
# install and test.
#
#   ruby formula_stub.rb Formula/crcsum.rb [--keg linux-intel=/path/to/keg]
#
# With --keg, the test block of that platform runs for real against <keg>/bin; otherwise shell_output
# records the command and returns "".

require "json"
require "open3"
require "pathname"

# Where the platform being simulated is kept while a formula class is defined.
module FormulaStub
  PLATFORMS = [%w[macos arm], %w[macos intel], %w[linux arm], %w[linux intel]].freeze

  class << self
    attr_accessor :os, :cpu
  end

  # Homebrew's rule from file name to class name (Formulary.class_s).
  def self.class_name(name)
    text = name.capitalize
    text = text.gsub(/[-_.\s]([a-zA-Z0-9])/) { Regexp.last_match(1).upcase }
    text = text.tr("+", "x")
    text.sub(/(.)@(\d)/, "\\1AT\\2")
  end
end

# Records `<folder>.install` calls in `log`: each file (relative to the archive's top folder) and its new name.
class PathRecorder
  def initialize(name, path, log)
    @name = name
    @path = path
    @calls = log
  end

  def install(*sources)
    sources.each do |source|
      if source.is_a?(Hash)
        source.each { |from, to| @calls << { "dir" => @name, "source" => from.to_s, "target" => to.to_s } }
      else
        @calls << { "dir" => @name, "source" => source.to_s, "target" => nil }
      end
    end
  end

  def to_s
    @path.to_s
  end

  def /(other)
    @path / other
  end
end

# The stand-in of Homebrew's base class: class methods record the DSL, instance methods the install and test.
class Formula
  class << self
    attr_reader :records

    def record(key, value)
      @records ||= { "depends_on" => [], "urls" => [], "sha256s" => [], "conflicts_with" => [] }
      if @records[key].is_a?(Array)
        @records[key] << value
      else
        @records[key] = value
      end
    end

    def desc(text)
      record("desc", text)
    end

    def homepage(text)
      record("homepage", text)
    end

    def license(*args, **keywords)
      record("license", keywords.empty? ? args.first : keywords)
    end

    def depends_on(requirement)
      record("depends_on", requirement)
    end

    def conflicts_with(*names, because:)
      record("conflicts_with", { "names" => names, "because" => because })
    end

    def url(address, **options)
      record("urls", { "url" => address, "options" => options })
    end

    def sha256(digest)
      record("sha256s", digest)
    end

    def test(&block)
      @test_block = block
    end

    attr_reader :test_block

    def version(text = nil)
      return @version if text.nil?

      @version = text
      record("version", text)
    end

    def on_macos(&block)
      yield if block && FormulaStub.os == "macos"
    end

    def on_linux(&block)
      yield if block && FormulaStub.os == "linux"
    end

    def on_arm(&block)
      yield if block && FormulaStub.cpu == "arm"
    end

    def on_intel(&block)
      yield if block && FormulaStub.cpu == "intel"
    end
  end

  FOLDERS = {
    bin: "bin", man1: "share/man/man1", bash_completion: "etc/bash_completion.d",
    zsh_completion: "share/zsh/site-functions", fish_completion: "share/fish/vendor_completions.d"
  }.freeze

  attr_reader :installs, :commands, :assertions

  def initialize(prefix, run_commands)
    @prefix = Pathname(prefix)
    @run_commands = run_commands
    @installs = []
    @folders = FOLDERS.to_h { |method, path| [method, PathRecorder.new(method.to_s, @prefix / path, @installs)] }
    @commands = []
    @assertions = []
  end

  FOLDERS.each_key { |method| define_method(method) { @folders.fetch(method) } }

  def version
    self.class.version
  end

  def shell_output(command, result = 0)
    entry = { "command" => command, "output" => "", "status" => nil }
    @commands << entry
    return "" unless @run_commands

    output, status = Open3.capture2e(command)
    entry.merge!("output" => output, "status" => status.exitstatus)
    raise "#{command} exited #{status.exitstatus}, expected #{result}:\n#{output}" if status.exitstatus != result

    output
  end

  def assert_match(expected, actual)
    pattern = expected.is_a?(Regexp) ? expected : Regexp.new(Regexp.escape(expected.to_s))
    @assertions << { "expected" => expected.to_s, "actual" => actual.to_s, "matched" => pattern.match?(actual.to_s) }
  end

  def run_test
    instance_eval(&self.class.test_block) if self.class.test_block
  end
end

def load_formula_class(path)
  namespace = Module.new
  namespace.module_eval(File.read(path), path.to_s)
  expected = FormulaStub.class_name(File.basename(path, ".rb"))
  # const_get raises NameError exactly where Homebrew would fail to load the formula.
  klass = namespace.const_get(expected, false)
  raise "#{expected} is not a Formula" unless klass < Formula

  [expected, klass]
end

def simulate(path, os, cpu, keg)
  FormulaStub.os = os
  FormulaStub.cpu = cpu
  name, klass = load_formula_class(path)
  formula = klass.new(keg || "/stub-keg", !keg.nil?)
  formula.install
  formula.run_test
  { "class" => name, **klass.records, "install" => formula.installs,
    "test" => { "commands" => formula.commands, "assertions" => formula.assertions } }
end

def main(argv)
  path = argv.shift or abort("usage: formula_stub.rb FORMULA.rb [--keg <os>-<cpu>=DIR]")
  kegs = {}
  while (option = argv.shift)
    abort("unknown option #{option}") unless option == "--keg"
    platform, folder = argv.shift.to_s.split("=", 2)
    kegs[platform] = folder
  end
  results = FormulaStub::PLATFORMS.to_h do |os, cpu|
    ["#{os}-#{cpu}", simulate(path, os, cpu, kegs["#{os}-#{cpu}"])]
  end
  puts JSON.pretty_generate(results)
end

main(ARGV) if $PROGRAM_NAME == __FILE__
