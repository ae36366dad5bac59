// Compiles the C half of the crate and records the target triple, so that
// `crcsum --version` can say what it was built for.
fn main() {
    cc::Build::new().file("csrc/crc32.c").compile("crc32");
    println!("cargo:rerun-if-changed=csrc/crc32.c");
    let target = std::env::var("TARGET").expect("cargo sets TARGET for build scripts");
    println!("cargo:rustc-env=CRCSUM_TARGET={target}");
}
