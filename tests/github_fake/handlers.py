"""What each implemented operation does to the repository state and answers, keyed by operation id.

Requests reach a handler only after they were checked against GitHub's description, so a handler trusts
the shape of its input (types of parameters, body members) and deals with the repository's rules.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from tests.github_fake.openapi import Description
from tests.github_fake.replies import (
    Refused,
    Reply,
    already_exists,
    error,
    not_found,
    unprocessable,
    validation_failed,
)
from tests.github_fake.state import (
    FILE_MODE,
    TREE_MODE,
    Asset,
    Commit,
    Person,
    Pull,
    Release,
    RepoState,
    Tag,
    fake_sha,
    now,
    object_type,
)

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
    repos: Sequence[RepoState] = ()  # every repository of the fake (a pull request's head is in another)

    @property
    def repo_url(self) -> str:
        return f"{self.api_url}/repos/{self.state.owner}/{self.state.name}"

    def url_of(self, state: RepoState) -> str:
        return f"{self.api_url}/repos/{state.owner}/{state.name}"

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


def repo_json(call: Call, state: RepoState | None = None, schema: str = "full-repository") -> dict[str, Any]:
    """A repository (default: the one the request names) as `schema` describes it; a fork names its parent
    and its network's root (full-repository only), and `permissions` appear when the state sets `push`."""
    state = state or call.state
    url = call.url_of(state)
    filler: dict[str, Any] = call.description.minimal({"$ref": f"#/components/schemas/{schema}"})
    data = filler | {
        "id": int(fake_sha("repo", state.owner, state.name)[:7], 16),
        "node_id": f"R_{state.owner}_{state.name}",
        "name": state.name,
        "full_name": state.full_name,
        "owner": user_json(call, state.owner),
        "private": False,
        "fork": state.fork_of is not None,
        "html_url": f"{call.api_url}/{state.owner}/{state.name}",
        "url": url,
        "releases_url": f"{url}/releases{{/id}}",
        "default_branch": state.default_branch,
    }
    if state.push is not None:
        data["permissions"] = {"admin": False, "maintain": False, "push": state.push, "triage": False, "pull": True}
    if schema == "full-repository" and state.fork_of is not None and state.source is not None:
        data["parent"] = repo_json(call, state.fork_of, "repository")
        data["source"] = repo_json(call, state.source, "repository")
    return data


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


def ref_json(call: Call, ref: str, sha: str) -> dict[str, Any]:
    """A branch's ref (refs/heads/<name>) pointing at a commit."""
    url = f"{call.repo_url}/git/{quote(ref, safe='/')}"
    target = {"type": "commit", "sha": sha, "url": f"{call.repo_url}/git/commits/{sha}"}
    return {"ref": ref, "node_id": f"REF_{fake_sha(ref)[:12]}", "url": url, "object": target}


def person_json(person: Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": person.date}


def commit_json(call: Call, sha: str, commit: Commit) -> dict[str, Any]:
    html = f"{call.api_url}/{call.state.owner}/{call.state.name}/commit"
    return {
        "sha": sha,
        "node_id": f"C_{sha[:12]}",
        "url": f"{call.repo_url}/git/commits/{sha}",
        "html_url": f"{html}/{sha}",
        "author": person_json(commit.author),
        "committer": person_json(commit.committer),
        "message": commit.message,
        "tree": {"sha": commit.tree, "url": f"{call.repo_url}/git/trees/{commit.tree}"},
        "parents": [
            {"sha": parent, "url": f"{call.repo_url}/git/commits/{parent}", "html_url": f"{html}/{parent}"}
            for parent in commit.parents
        ],
        "verification": {
            "verified": False,
            "reason": "unsigned",
            "signature": None,
            "payload": None,
            "verified_at": None,
        },
    }


def tree_json(call: Call, sha: str) -> dict[str, Any]:
    objects = call.state.objects
    entries = []
    for name, (mode, target) in sorted(objects.trees[sha].items()):
        kind = object_type(mode)
        entry = {
            "path": name,
            "mode": mode,
            "type": kind,
            "sha": target,
            "url": f"{call.repo_url}/git/{kind}s/{target}",
        }
        if kind == "blob":
            entry["size"] = len(objects.blobs[target])
        entries.append(entry)
    return {"sha": sha, "url": f"{call.repo_url}/git/trees/{sha}", "truncated": False, "tree": entries}


def content_json(call: Call, path: str, mode: str, sha: str, *, with_content: bool) -> dict[str, Any]:
    """One entry of the contents API: a file (with its bytes, base64, when asked) or a folder."""
    kind = "dir" if mode == TREE_MODE else "file"
    url = f"{call.repo_url}/contents/{quote(path)}"
    git_url = f"{call.repo_url}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
    html_url = f"{call.api_url}/{call.state.owner}/{call.state.name}/{'tree' if kind == 'dir' else 'blob'}/{path}"
    data = call.state.objects.blobs.get(sha, b"") if kind == "file" else b""
    entry: dict[str, Any] = {
        "type": kind,
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"{call.api_url}/raw/{call.state.full_name}/{path}" if kind == "file" else None,
        "_links": {"git": git_url, "html": html_url, "self": url},
    }
    if with_content:
        entry |= {"content": base64.encodebytes(data).decode(), "encoding": "base64"}
    return entry


def pull_side(call: Call, state: RepoState, ref: str) -> dict[str, Any]:
    return {
        "label": f"{state.owner}:{ref}",
        "ref": ref,
        "sha": state.branches.get(ref, fake_sha("deleted", ref)),
        "repo": repo_json(call, state, "repository"),
        "user": user_json(call, state.owner),
    }


def pull_json(call: Call, pull: Pull, schema: str = "pull-request") -> dict[str, Any]:
    """A pull request as `schema` describes it (pull-request, or pull-request-simple in lists)."""
    filler: dict[str, Any] = call.description.minimal({"$ref": f"#/components/schemas/{schema}"})
    url = f"{call.repo_url}/pulls/{pull.number}"
    html = f"{call.api_url}/{call.state.owner}/{call.state.name}/pull/{pull.number}"
    issue = f"{call.repo_url}/issues/{pull.number}"
    data = filler | {
        "url": url,
        "id": pull.id,
        "node_id": f"PR_{pull.id}",
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": issue,
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{call.repo_url}/pulls/comments{{/number}}",
        "comments_url": f"{issue}/comments",
        "statuses_url": f"{call.repo_url}/statuses/{pull_side(call, pull.head_repo, pull.head_ref)['sha']}",
        "number": pull.number,
        "state": pull.state,
        "title": pull.title,
        "body": pull.body,
        "user": user_json(call, pull.user),
        "created_at": pull.created_at,
        "updated_at": pull.updated_at,
        "head": pull_side(call, pull.head_repo, pull.head_ref),
        "base": pull_side(call, call.state, pull.base_ref),
        "draft": pull.draft,
        "author_association": "CONTRIBUTOR",
    }
    if schema == "pull-request":
        data["maintainer_can_modify"] = pull.maintainer_can_modify
    return data


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


def repo_named(call: Call, owner: str, name: str) -> RepoState | None:
    return next((state for state in call.repos if state.is_repo(owner, name)), None)


def network_root(state: RepoState) -> RepoState:
    return state.source or state


def branch_of_ref(call: Call) -> str:
    """The branch a {ref} path parameter names ("heads/<name>"); 422 as GitHub answers for anything else."""
    kind, _, name = call.params["ref"].partition("/")
    if kind != "heads" or name not in call.state.branches:
        raise unprocessable("Reference does not exist")
    return name


def commit_or_422(call: Call, sha: str, message: str) -> Commit:
    commit = call.state.objects.commits.get(sha)
    if commit is None:
        raise unprocessable(message)
    return commit


def pull_of(call: Call) -> Pull:
    pull = call.state.pulls.get(call.int_param("pull_number"))
    if pull is None:
        raise not_found()
    return pull


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


# --- git data -------------------------------------------------------------------------------


def create_ref(call: Call) -> Reply:
    ref, sha = call.body["ref"], call.body["sha"]
    if not ref.startswith("refs/") or ref.count("/") < 2:
        raise unprocessable(f"{ref} is not a valid ref name.")
    kind, _, name = ref.removeprefix("refs/").partition("/")
    if kind != "heads":
        raise NotImplementedError(f"the fake creates branches only, not {ref}")
    commit_or_422(call, sha, "Object does not exist")
    if name in call.state.branches:
        raise unprocessable("Reference already exists")
    call.state.branches[name] = sha
    data = ref_json(call, ref, sha)
    return Reply(201, data, {"Location": data["url"]})


def update_ref(call: Call) -> Reply:
    name = branch_of_ref(call)
    sha, current = call.body["sha"], call.state.branches[name]
    commit_or_422(call, sha, "Object does not exist")
    if not call.body.get("force", False) and not call.state.objects.is_ancestor(current, sha):
        raise unprocessable("Update is not a fast forward")
    call.state.branches[name] = sha
    return Reply(200, ref_json(call, f"refs/heads/{name}", sha))


def create_blob(call: Call) -> Reply:
    content, encoding = call.body["content"], call.body.get("encoding", "utf-8")
    if encoding not in ("utf-8", "utf8", "base64"):
        raise validation_failed({"resource": "Blob", "code": "invalid", "field": "encoding"})
    data = base64.b64decode(content, validate=False) if encoding == "base64" else content.encode()
    sha = call.state.objects.add_blob(data)
    url = f"{call.repo_url}/git/blobs/{sha}"
    return Reply(201, {"url": url, "sha": sha}, {"Location": url})


def create_tree(call: Call) -> Reply:
    objects = call.state.objects
    base = call.body.get("base_tree")
    if base is not None and base not in objects.trees:
        raise validation_failed({"resource": "Tree", "code": "invalid", "field": "base_tree"})
    files = objects.files(base) if base else {}
    for item in call.body["tree"]:
        path, sha, content = item.get("path", ""), item.get("sha"), item.get("content")
        if "sha" in item and content is not None:
            raise unprocessable("Must supply either tree.sha or tree.content, not both")
        if item.get("type", "blob") != "blob" or item.get("mode", FILE_MODE) == TREE_MODE:
            raise NotImplementedError("the fake builds trees of blobs only")
        if "sha" in item and sha is None:
            files = {name: entry for name, entry in files.items() if name != path and not name.startswith(path + "/")}
            continue
        if content is not None:
            sha = objects.add_blob(content.encode())
        if sha not in objects.blobs:
            raise unprocessable(f"tree.sha {sha} is not a valid blob")
        files[path] = (item.get("mode", FILE_MODE), sha)
    sha = objects.tree_of_files(files)
    data = tree_json(call, sha)
    return Reply(201, data, {"Location": data["url"]})


def create_commit(call: Call) -> Reply:
    objects, body = call.state.objects, call.body
    if body["tree"] not in objects.trees:
        raise unprocessable("Tree SHA does not exist")
    parents = tuple(body.get("parents", []))
    for parent in parents:
        commit_or_422(call, parent, "Parent SHA does not exist or is not a commit object")
    login = Person(call.login, f"{call.login}@users.noreply.example.invalid", now())
    given = body.get("author")
    author = Person(given["name"], given["email"], given.get("date") or now()) if given else login
    committed = body.get("committer")
    committer = Person(committed["name"], committed["email"], committed.get("date") or now()) if committed else author
    commit = Commit(body["tree"], parents, body["message"], author, committer)
    sha = objects.add_commit(commit)
    data = commit_json(call, sha, commit)
    return Reply(201, data, {"Location": data["url"]})


def get_commit(call: Call) -> Reply:
    sha = call.params["commit_sha"]
    commit = call.state.objects.commits.get(sha)
    if commit is None:
        raise not_found()
    return Reply(200, commit_json(call, sha, commit))


def get_content(call: Call) -> Reply:
    path = call.params["path"].strip("/")
    tree = call.state.tree_of(call.query.get("ref"))
    found = call.state.objects.entry(tree, path) if tree else None
    if found is None:
        raise not_found()
    mode, sha = found
    if mode != TREE_MODE:
        return Reply(200, content_json(call, path, mode, sha, with_content=True))
    entries = sorted(call.state.objects.trees[sha].items())
    prefix = f"{path}/" if path else ""
    return Reply(200, [content_json(call, prefix + name, m, s, with_content=False) for name, (m, s) in entries])


def merge_upstream(call: Call) -> Reply:
    """Sync a fork's branch with the same branch of its parent: a fast-forward, or nothing to do.

    The fake does not make merge commits: a branch that has commits of its own is a 409, as a conflict is.
    """
    fork, branch = call.state, call.body["branch"]
    parent = fork.fork_of
    if parent is None or branch not in fork.branches or branch not in parent.branches:
        raise unprocessable(f"Branch {branch} could not be synced")
    head, upstream = fork.branches[branch], parent.branches[branch]
    label = f"{parent.owner}:{branch}"
    if fork.objects.is_ancestor(upstream, head):
        reply = {"message": f"This branch is not behind the upstream {label}.", "merge_type": "none"}
    elif fork.objects.is_ancestor(head, upstream):
        fork.branches[branch] = upstream
        reply = {
            "message": f"Successfully fetched and fast-forwarded from upstream {label}.",
            "merge_type": "fast-forward",
        }
    else:
        raise Refused(error(409, "There are merge conflicts"))
    return Reply(200, reply | {"base_branch": label})


# --- pull requests ---------------------------------------------------------------------------


def head_of(call: Call, head: str) -> tuple[RepoState, str]:
    """The repository and branch a pull request's `head` ("owner:branch", or "branch" of this one) names."""
    owner, colon, branch = head.rpartition(":")
    if not colon:
        return call.state, branch
    root = network_root(call.state)
    state = next((s for s in call.repos if s.owner.lower() == owner.lower() and network_root(s) is root), None)
    if state is None:
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "head"})
    return state, branch


def list_pulls(call: Call) -> Reply:
    wanted = call.query.get("state", "open")
    pulls = [p for p in call.state.pulls.values() if wanted in ("all", p.state)]
    if "head" in call.query:
        owner, _, branch = call.query["head"].rpartition(":")
        pulls = [p for p in pulls if p.head_ref == branch and (not owner or p.head_repo.owner.lower() == owner.lower())]
    if "base" in call.query:
        pulls = [p for p in pulls if p.base_ref == call.query["base"]]
    pulls.sort(key=lambda p: p.number, reverse=True)  # newest first
    return paginated(call, [pull_json(call, pull, "pull-request-simple") for pull in pulls])


def create_pull(call: Call) -> Reply:
    body = call.body
    if "issue" in body:
        raise NotImplementedError("the fake does not turn issues into pull requests")
    if "title" not in body:
        raise validation_failed({"resource": "PullRequest", "code": "missing_field", "field": "title"})
    state, branch = head_of(call, body["head"])
    if branch not in state.branches:
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "head"})
    if body["base"] not in call.state.branches:
        raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "base"})
    head, base = state.branches[branch], call.state.branches[body["base"]]
    label = f"{state.owner}:{branch}"
    if any(
        p.head_repo is state and p.head_ref == branch and p.base_ref == body["base"] for p in call.state.open_pulls()
    ):
        message = f"A pull request already exists for {label}."
        raise validation_failed({"resource": "PullRequest", "code": "custom", "message": message})
    if call.state.objects.is_ancestor(head, base):
        message = f"No commits between {body['base']} and {label}"
        raise validation_failed({"resource": "PullRequest", "code": "custom", "message": message})
    pull = call.state.add_pull(
        state,
        branch,
        body["base"],
        title=body["title"],
        body=body.get("body"),
        user=call.login,
        draft=body.get("draft", False),
        maintainer_can_modify=body.get("maintainer_can_modify", False),
    )
    data = pull_json(call, pull)
    return Reply(201, data, {"Location": data["url"]})


def get_pull(call: Call) -> Reply:
    return Reply(200, pull_json(call, pull_of(call)))


def update_pull(call: Call) -> Reply:
    pull = pull_of(call)
    for key in ("title", "body", "state", "maintainer_can_modify"):
        if key in call.body:
            setattr(pull, key, call.body[key])
    if "base" in call.body:
        if call.body["base"] not in call.state.branches:
            raise validation_failed({"resource": "PullRequest", "code": "invalid", "field": "base"})
        pull.base_ref = call.body["base"]
    pull.updated_at = now()
    return Reply(200, pull_json(call, pull))


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
    "repos/merge-upstream": merge_upstream,
    "repos/get-content": get_content,
    "git/create-ref": create_ref,
    "git/update-ref": update_ref,
    "git/create-blob": create_blob,
    "git/create-tree": create_tree,
    "git/create-commit": create_commit,
    "git/get-commit": get_commit,
    "pulls/list": list_pulls,
    "pulls/create": create_pull,
    "pulls/get": get_pull,
    "pulls/update": update_pull,
}


def handle(operation_id: str, call: Call) -> Reply:
    """Run an implemented operation on the repository it names (any other repository is not found)."""
    try:
        if not call.state.is_repo(call.params["owner"], call.params["repo"]):
            raise not_found()
        return HANDLERS[operation_id](call)
    except Refused as refused:
        return refused.reply
