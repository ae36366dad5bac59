"""The Release every channel packages, gathered from the config and dist/manifest.json (pure)."""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Iterable
from pathlib import Path

from tooling.artifacts import archive, checksum
from tooling.config import ReleaseConfig
from tooling.errors import PackageError
from tooling.manifest import Manifest
from tooling.packagers.base import Archive, Release
from tooling.packagers.licenses import canonical
from tooling.packagers.registry import is_prerelease
from tooling.targets import get_target

URL_FIELDS = ("repository", "tag", "version", "file")


def download_url(template: str, *, repository: str, tag: str, version: str, file: str) -> str:
    """A release file's URL from tool.release.packages.download-url (pure)."""
    if "{repository}" in template and not repository:
        raise PackageError(
            "packages: download-url: it names {repository}, and the crate has no repository",
            hint="set repository in Cargo.toml or [tool.release.metadata], or set tool.release.packages.download-url",
        )
    try:
        fields = [(field, spec, conversion) for _, field, spec, conversion in string.Formatter().parse(template)]
    except ValueError as error:  # an unmatched brace
        raise PackageError(
            f"packages: download-url: {template!r} is not a URL template ({error})",
            hint="placeholders: " + ", ".join("{" + name + "}" for name in URL_FIELDS),
        ) from None
    for field, spec, conversion in fields:
        if field is not None and (field not in URL_FIELDS or spec or conversion):
            raise PackageError(
                f"packages: download-url: {template!r} names {{{field}}}, which is not one of its placeholders",
                hint="placeholders: " + ", ".join("{" + name + "}" for name in URL_FIELDS),
            )
    return template.format(
        repository=repository.removesuffix("/").removesuffix(".git"), tag=tag, version=version, file=file
    )


def archives_of(record: Manifest, url: str, tag: str, repository: str) -> tuple[Archive, ...]:
    """Every archive the manifest lists, with its URL and the files it holds (relative to its top folder)."""
    found = []
    for artifact in record.artifacts:
        if artifact.kind != "archive" or artifact.target is None:
            continue
        target = get_target(artifact.target)
        top = archive.archive_stem(record.name, record.version, target.triple)
        members: Iterable[str] = artifact.facts.get("files", ())
        files = tuple(sorted(m.removeprefix(top + "/") for m in members if m.startswith(top + "/")))
        found.append(
            Archive(
                triple=target.triple,
                os=target.os,
                arch=target.arch,
                libc=target.libc,
                file=artifact.path,
                url=download_url(url, repository=repository, tag=tag, version=record.version, file=artifact.path),
                sha256=artifact.sha256,
                format=str(artifact.facts.get("format", "")),
                top=top,
                files=files,
            )
        )
    return tuple(found)


def release_tag(config: ReleaseConfig) -> str:
    return str(config.versioning.get("tag-prefix", "v")) + config.version


def url_template(config: ReleaseConfig) -> str:
    return str(config.packages.get("download-url", "{repository}/releases/download/{tag}/{file}"))


def planned_release(config: ReleaseConfig) -> Release:
    """The release the config will make, before any build: archive names, formats and URLs, no hashes.

    For what depends only on names (cargo-binstall's table); the files each
    archive holds are its binaries.
    """
    tag, url = release_tag(config), url_template(config)
    archives = []
    for target in config.targets:
        fmt = config.archive_format(target)
        file = archive.archive_file_name(config.name, config.version, target.triple, fmt)
        archives.append(
            Archive(
                triple=target.triple,
                os=target.os,
                arch=target.arch,
                libc=target.libc,
                file=file,
                url=download_url(url, repository=config.package.repository, tag=tag, version=config.version, file=file),
                sha256="",
                format=fmt,
                top=archive.archive_stem(config.name, config.version, target.triple),
                files=tuple(sorted(target.executable(b) for b in config.binaries)),
            )
        )
    return dataclasses.replace(release_from(config, Manifest(config.name, config.version), 0), archives=tuple(archives))


def release_from(config: ReleaseConfig, record: Manifest, epoch: int) -> Release:
    """The release of `config` whose archives `record` lists."""
    tag, url = release_tag(config), url_template(config)
    meta = config.package
    return Release(
        name=config.name,
        version=config.version,
        tag=tag,
        prerelease=is_prerelease(config.version),
        binaries=config.binaries,
        description=meta.description,
        homepage=meta.homepage,
        license=canonical(meta.license),
        maintainer=meta.maintainer,
        repository=meta.repository,
        archives=archives_of(record, url, tag, meta.repository),
        sums_url=download_url(
            url, repository=meta.repository, tag=tag, version=config.version, file=checksum.SUMS_NAME
        ),
        epoch=epoch,
        templates=template_dir(config),
    )


def planned_platforms(triples: Iterable[str]) -> tuple[tuple[str, str, str], ...]:
    """(os, arch, libc) of the planned target triples."""
    return tuple((t.os, t.arch, t.libc) for t in (get_target(triple) for triple in triples))


def template_dir(config: ReleaseConfig) -> Path | None:
    """The project's folder of template overrides (tool.release.packages.templates), if set; it must exist."""
    templates = str(config.packages.get("templates", ""))
    if not templates:
        return None
    folder = config.root / templates
    if not folder.is_dir():
        raise PackageError(
            f"packages: templates: {folder} is not a folder",
            hint="point tool.release.packages.templates at the folder of your <channel>/<file> templates",
        )
    return folder
