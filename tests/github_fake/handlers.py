"""What each implemented operation does to the repository state and answers, keyed by operation id.

Requests reach a handler only after they were checked against GitHub's description, so a handler trusts
the shape of its input (types of parameters, body members) and deals with the repository's rules.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.github_fake.openapi import Description
from tests.github_fake.replies import Refused, Reply, already_exists, not_found, validation_failed
from tests.github_fake.state import Asset, Release, RepoState, Tag, fake_sha

MAX_PER_PAGE = 100  # GitHub caps per_page at 100 whatever is asked
DEFAULT_PER_PAGE = 30


@dataclass
class Call:
    """One checked request, as a handler sees it."""

    state: RepoState
    description: Description
    api_url: str  # http://127.0.0.1:<port>
    uploads_url: str  # http://127.0.0.1:<port>/uploads
    login: str  # the user the token belongs to
    path: str  # without the query
    params: Mapping[str, str]  # path parameters
    query: Mapping[str, str]
    body: Any  # parsed JSON, or None
    raw: bytes
    content_type: str

    @property
    def repo_url(self) -> str:
        return f"{self.api_url}/repos/{self.state.owner}/{self.state.name}"

    def int_param(self, name: str) -> int:
        return int(self.params[name])


# --- GitHub's objects ------------------------------------------------------------------------


def user_json(call: Call, login: str) -> dict[str, Any]:
    user = f"{call.api_url}/users/{login}"
    return {
        "login": login,
        "id": int(fake_sha("user", login)[:7], 16),
        "node_id": f"U_{login}",
        "avatar_url": f"{call.api_url}/avatars/{login}",
        "gravatar_id": "",
        "url": user,
        "html_url": f"{call.api_url}/{login}",
        "followers_url": f"{user}/followers",
        "following_url": f"{user}/following{{/other_user}}",
        "gists_url": f"{user}/gists{{/gist_id}}",
        "starred_url": f"{user}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{user}/subscriptions",
        "organizations_url": f"{user}/orgs",
        "repos_url": f"{user}/repos",
        "events_url": f"{user}/events{{/privacy}}",
        "received_events_url": f"{user}/received_events",
        "type": "User",
        "site_admin": False,
    }


def repo_json(call: Call) -> dict[str, Any]:
    state = call.state
    filler: dict[str, Any] = call.description.minimal({"$ref": "#/components/schemas/full-repository"})
    return filler | {
        "id": int(fake_sha("repo", state.owner, state.name)[:7], 16),
        "node_id": f"R_{state.owner}_{state.name}",
        "name": state.name,
        "full_name": f"{state.owner}/{state.name}",
        "owner": user_json(call, state.owner),
        "private": False,
        "html_url": f"{call.api_url}/{state.owner}/{state.name}",
        "url": call.repo_url,
        "releases_url": f"{call.repo_url}/releases{{/id}}",
        "default_branch": state.default_branch,
    }


def tag_ref_json(call: Call, tag: Tag) -> dict[str, Any]:
    kind = "tag" if tag.annotated else "commit"
    target = f"{call.repo_url}/git/{kind}s/{tag.object_sha}"
    return {
        "ref": f"refs/tags/{tag.name}",
        "node_id": f"REF_{tag.name}",
        "url": f"{call.repo_url}/git/refs/tags/{tag.name}",
        "object": {"type": kind, "sha": tag.object_sha, "url": target},
    }


def tag_object_json(call: Call, tag: Tag) -> dict[str, Any]:
    return {
        "node_id": f"TAG_{tag.name}",
        "tag": tag.name,
        "sha": tag.object_sha,
        "url": f"{call.repo_url}/git/tags/{tag.object_sha}",
        "message": tag.message or "",
        "tagger": {"date": "2020-01-01T00:00:00Z", "email": f"{call.login}@example.invalid", "name": call.login},
        "object": {"sha": tag.commit, "type": "commit", "url": f"{call.repo_url}/git/commits/{tag.commit}"},
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "payload": None,
            "signature": None,
            "verified_at": None,
        },
    }


def asset_json(call: Call, asset: Asset) -> dict[str, Any]:
    release = call.state.releases[asset.release_id]
    return {
        "url": f"{call.repo_url}/releases/assets/{asset.id}",
        "browser_download_url": f"{call.api_url}/{call.state.owner}/{call.state.name}/releases/download/"
        f"{release.tag_name}/{asset.name}",
        "id": asset.id,
        "node_id": f"RA_{asset.id}",
        "name": asset.name,
        "label": asset.label,
        "state": asset.state,
        "content_type": asset.content_type,
        "size": len(asset.data),
        "digest": asset.digest,
        "download_count": 0,
        "created_at": asset.created_at,
        "updated_at": asset.created_at,
        "uploader": user_json(call, call.login),
    }


def release_json(call: Call, release: Release) -> dict[str, Any]:
    url = f"{call.repo_url}/releases/{release.id}"
    # The upload URL is on the uploads host, as a URI template: clients must expand it, not build their own.
    upload_url = f"{call.uploads_url}/repos/{call.state.owner}/{call.state.name}/releases/{release.id}/assets"
    return {
        "url": url,
        "html_url": f"{call.api_url}/{call.state.owner}/{call.state.name}/releases/tag/{release.tag_name}",
        "assets_url": f"{url}/assets",
        "upload_url": upload_url + "{?name,label}",
        "tarball_url": f"{call.repo_url}/tarball/{release.tag_name}",
        "zipball_url": f"{call.repo_url}/zipball/{release.tag_name}",
        "id": release.id,
        "node_id": f"RE_{release.id}",
        "tag_name": release.tag_name,
        "target_commitish": release.target_commitish,
        "name": release.name,
        "body": release.body,
        "draft": release.draft,
        "prerelease": release.prerelease,
        "created_at": release.created_at,
        "published_at": release.published_at,
        "author": user_json(call, call.login),
        "assets": [asset_json(call, asset) for asset in call.state.assets_of(release.id)],
    }


def paginated(call: Call, items: list[Any]) -> Reply:
    """One page of a list, with GitHub's Link header (next, last, first, prev) when there is more than one."""
    per_page = min(max(int(call.query.get("per_page", DEFAULT_PER_PAGE)), 1), MAX_PER_PAGE)
    page = max(int(call.query.get("page", 1)), 1)
    last = max(math.ceil(len(items) / per_page), 1)
    targets = {"next": page + 1, "last": last} if page < last else {}
    targets |= {"first": 1, "prev": min(page - 1, last)} if page > 1 else {}

    def url(number: int) -> str:
        return f"{call.api_url}{call.path}?{urlencode({**call.query, 'per_page': per_page, 'page': number})}"

    headers = {"Link": ", ".join(f'<{url(n)}>; rel="{rel}"' for rel, n in targets.items())} if targets else {}
    return Reply(200, items[(page - 1) * per_page : page * per_page], headers)


# --- lookups ---------------------------------------------------------------------------------


def release_of(call: Call) -> Release:
    release = call.state.releases.get(call.int_param("release_id"))
    if release is None:
        raise not_found()
    return release


def asset_of(call: Call) -> Asset:
    asset = call.state.assets.get(call.int_param("asset_id"))
    if asset is None:
        raise not_found()
    return asset


def check_publishable(call: Call, release: Release) -> None:
    """A tag has at most one published release; a missing tag needs a commitish to create it from."""
    other = call.state.published_release(release.tag_name)
    if other is not None and other.id != release.id:
        raise already_exists("Release", "tag_name")
    if release.tag_name not in call.state.tags and call.state.commit_of(release.target_commitish) is None:
        raise validation_failed({"resource": "Release", "code": "invalid", "field": "target_commitish"})


# --- handlers --------------------------------------------------------------------------------


def get_repo(call: Call) -> Reply:
    return Reply(200, repo_json(call))


def get_ref(call: Call) -> Reply:
    kind, _, name = call.params["ref"].partition("/")
    if kind == "tags" and name in call.state.tags:
        return Reply(200, tag_ref_json(call, call.state.tags[name]))
    if kind == "heads" and name in call.state.branches:
        sha = call.state.branches[name]
        url = f"{call.repo_url}/git/refs/heads/{name}"
        target = {"type": "commit", "sha": sha, "url": f"{call.repo_url}/git/commits/{sha}"}
        return Reply(200, {"ref": f"refs/heads/{name}", "node_id": f"REF_{name}", "url": url, "object": target})
    raise not_found()


def get_tag(call: Call) -> Reply:
    sha = call.params["tag_sha"]
    tag = next((t for t in call.state.tags.values() if t.annotated and t.object_sha == sha), None)
    if tag is None:
        raise not_found()
    return Reply(200, tag_object_json(call, tag))


def list_releases(call: Call) -> Reply:
    # Newest first, drafts included: the token's user can push.
    releases = sorted(call.state.releases.values(), key=lambda r: r.id, reverse=True)
    return paginated(call, [release_json(call, release) for release in releases])


def get_release(call: Call) -> Reply:
    return Reply(200, release_json(call, release_of(call)))


def get_release_by_tag(call: Call) -> Reply:
    release = call.state.published_release(call.params["tag"])  # drafts are not found by tag
    if release is None:
        raise not_found()
    return Reply(200, release_json(call, release))


def get_latest_release(call: Call) -> Reply:
    published = [r for r in call.state.releases.values() if not r.draft and not r.prerelease]
    if not published:
        raise not_found()
    return Reply(200, release_json(call, max(published, key=lambda r: r.id)))


def create_release(call: Call) -> Reply:
    body = call.body
    release = Release(
        id=0,
        tag_name=body["tag_name"],
        target_commitish=body.get("target_commitish", call.state.default_branch),
        name=body.get("name", body["tag_name"]),
        body=body.get("body", ""),
        draft=body.get("draft", False),
        prerelease=body.get("prerelease", False),
    )
    # Drafts do not claim their tag: GitHub lets several drafts share one.
    if not release.draft:
        check_publishable(call, release)
    made = call.state.add_release(
        release.tag_name,
        draft=release.draft,
        prerelease=release.prerelease,
        name=release.name,
        body=release.body,
        target_commitish=release.target_commitish,
    )
    data = release_json(call, made)
    return Reply(201, data, {"Location": data["url"]})


UPDATABLE = ("tag_name", "target_commitish", "name", "body", "prerelease")


def update_release(call: Call) -> Reply:
    release = release_of(call)
    for key in UPDATABLE:
        if key in call.body:
            setattr(release, key, call.body[key])
    if release.draft and call.body.get("draft") is False:
        check_publishable(call, release)
        call.state.publish(release)
    elif not release.draft and call.body.get("draft") is True:
        release.draft, release.published_at = True, None
    return Reply(200, release_json(call, release))


def delete_release(call: Call) -> Reply:
    release = release_of(call)
    for asset in call.state.assets_of(release.id):
        del call.state.assets[asset.id]
    del call.state.releases[release.id]
    return Reply(204)


def list_release_assets(call: Call) -> Reply:
    release = release_of(call)
    return paginated(call, [asset_json(call, asset) for asset in call.state.assets_of(release.id)])


def get_release_asset(call: Call) -> Reply:
    return Reply(200, asset_json(call, asset_of(call)))


def delete_release_asset(call: Call) -> Reply:
    del call.state.assets[asset_of(call).id]
    return Reply(204)


def upload_release_asset(call: Call) -> Reply:
    release = release_of(call)
    name = call.query["name"]
    if any(asset.name == name for asset in call.state.assets_of(release.id)):
        raise already_exists("ReleaseAsset", "name")
    asset = call.state.add_asset(release, name, call.raw, content_type=call.content_type, label=call.query.get("label"))
    return Reply(201, asset_json(call, asset))


Handler = Callable[[Call], Reply]

# The routing table: the description finds the operation, this finds what the fake does for it.
HANDLERS: dict[str, Handler] = {
    "repos/get": get_repo,
    "git/get-ref": get_ref,
    "git/get-tag": get_tag,
    "repos/list-releases": list_releases,
    "repos/get-release": get_release,
    "repos/get-release-by-tag": get_release_by_tag,
    "repos/get-latest-release": get_latest_release,
    "repos/create-release": create_release,
    "repos/update-release": update_release,
    "repos/delete-release": delete_release,
    "repos/list-release-assets": list_release_assets,
    "repos/get-release-asset": get_release_asset,
    "repos/delete-release-asset": delete_release_asset,
    "repos/upload-release-asset": upload_release_asset,
}


def handle(operation_id: str, call: Call) -> Reply:
    """Run an implemented operation on the repository it names (any other repository is not found)."""
    try:
        if not call.state.is_repo(call.params["owner"], call.params["repo"]):
            raise not_found()
        return HANDLERS[operation_id](call)
    except Refused as refused:
        return refused.reply
