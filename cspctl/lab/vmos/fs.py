"""A small in-memory Linux filesystem: directories, files, symlinks, immutable flags.

Nodes are objects, so a process can hold a directory as its cwd after the path was removed:
`path_of()` then reports `<old path> (deleted)` exactly as /proc/PID/cwd does.
"""

from __future__ import annotations

import errno
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


class FsError(OSError):
    """An errno plus the path it concerns (strerror text as Linux prints it)."""

    def __init__(self, code: int, path: str) -> None:
        super().__init__(code, _STRERROR.get(code, "Error"), path)
        self.code = code
        self.path = path


_STRERROR = {
    errno.ENOENT: "No such file or directory",
    errno.ENOTDIR: "Not a directory",
    errno.EISDIR: "Is a directory",
    errno.EPERM: "Operation not permitted",
    errno.EEXIST: "File exists",
    errno.ENOTEMPTY: "Directory not empty",
    errno.ENOSPC: "No space left on device",
    errno.EROFS: "Read-only file system",
    errno.EACCES: "Permission denied",
}


def strerror(code: int) -> str:
    return _STRERROR.get(code, "Error")


@dataclass(eq=False)
class Node:
    """Common inode data."""

    mode: int = 0o644
    mtime: float = 0.0
    owner: str = "root"
    group: str = "root"
    immutable: bool = False
    parent: Dir | None = field(default=None, repr=False)
    name: str = ""
    deleted_path: str | None = None

    kind = "-"

    @property
    def deleted(self) -> bool:
        return self.deleted_path is not None

    @property
    def nlink(self) -> int:
        return 0 if self.deleted else 1

    @property
    def size(self) -> int:
        return 0


@dataclass(eq=False)
class File(Node):
    """A regular file; `content` may be a callable producing the text on each read."""

    content: str | Callable[[], str] = ""
    fixed_size: int | None = None
    meta: dict[str, object] = field(default_factory=dict)

    def read(self) -> str:
        return self.content() if callable(self.content) else self.content

    @property
    def size(self) -> int:
        if self.fixed_size is not None:
            return self.fixed_size
        return len(self.read().encode())


@dataclass(eq=False)
class Dir(Node):
    """A directory with named children."""

    mode: int = 0o755
    children: dict[str, Node] = field(default_factory=dict)
    kind = "d"

    def entries(self) -> dict[str, Node]:
        return self.children

    @property
    def nlink(self) -> int:
        if self.deleted:
            return 0
        return 2 + sum(1 for c in self.entries().values() if isinstance(c, Dir))

    @property
    def size(self) -> int:
        return 0 if self.deleted else 4096


@dataclass(eq=False)
class Symlink(Node):
    """A symbolic link; `target_node` short-cuts resolution (used for /proc/PID/cwd)."""

    mode: int = 0o777
    target: str = ""
    target_node: Node | None = field(default=None, repr=False)
    virtual: bool = False
    kind = "l"

    @property
    def size(self) -> int:
        return 0 if self.virtual else len(self.target)


class VirtualDir(Dir):
    """A directory whose children are computed on each access (/proc, /proc/PID)."""

    def __init__(self, producer: Callable[[], dict[str, Node]], mode: int = 0o555,
                 mtime: float = 0.0) -> None:
        super().__init__(mode=mode, mtime=mtime)
        self._producer = producer

    def entries(self) -> dict[str, Node]:
        kids = self._producer()
        for name, node in kids.items():
            node.parent, node.name = self, name
        return kids

    @property
    def size(self) -> int:
        return 0


class Filesystem:
    """A tree of nodes with Linux path semantics (only what the lab needs)."""

    def __init__(self) -> None:
        self.root = Dir()
        self.root.parent = self.root
        self.full = False
        self.other_mounts: list[str] = []
        self._inodes: dict[int, tuple[Node, int]] = {}
        """Mount points of other file systems (a full `/` does not stop writes there)."""

    # --- lookup -----------------------------------------------------------------------------
    def lookup(self, path: str, cwd: str = "/", *, follow: bool = True) -> Node:
        """Resolve `path` (relative to `cwd`); raise FsError like the kernel would."""
        if not path:
            raise FsError(errno.ENOENT, path)
        full = path if path.startswith("/") else posixpath.join(cwd, path)
        return self._walk(self.root, full.split("/"), path, follow, depth=0)

    def _walk(self, start: Node, parts: list[str], shown: str, follow: bool, depth: int) -> Node:
        if depth > 20:
            raise FsError(errno.ENOENT, shown)
        node = start
        parts = [p for p in parts if p not in ("", ".")]
        for i, part in enumerate(parts):
            if not isinstance(node, Dir):
                raise FsError(errno.ENOTDIR, shown)
            if part == "..":
                node = node.parent or node
                continue
            child = node.entries().get(part)
            if child is None:
                raise FsError(errno.ENOENT, shown)
            last = i == len(parts) - 1
            if isinstance(child, Symlink) and (follow or not last or shown.endswith("/")):
                child = self._follow(child, shown, depth)
            node = child
        return node

    def _follow(self, link: Symlink, shown: str, depth: int) -> Node:
        if link.target_node is not None:
            return link.target_node
        base = link.parent if link.target and not link.target.startswith("/") else self.root
        return self._walk(base or self.root, link.target.split("/"), shown, True, depth + 1)

    def exists(self, path: str, cwd: str = "/") -> bool:
        try:
            self.lookup(path, cwd)
        except FsError:
            return False
        return True

    def read(self, path: str, cwd: str = "/") -> str:
        node = self.lookup(path, cwd)
        if isinstance(node, Dir):
            raise FsError(errno.EISDIR, path)
        assert isinstance(node, File)
        return node.read()

    # --- paths ------------------------------------------------------------------------------
    def path_of(self, node: Node) -> str:
        """Absolute path of a node; `<old path> (deleted)` for an unlinked one."""
        if node.deleted_path is not None:
            return node.deleted_path + " (deleted)"
        names: list[str] = []
        cur = node
        while cur is not self.root:
            if cur.parent is None:
                return "/" + "/".join(reversed(names))
            if cur.parent.deleted_path is not None:
                return cur.parent.deleted_path + "/" + "/".join(reversed([cur.name, *names]))
            names.append(cur.name)
            cur = cur.parent
        return "/" + "/".join(reversed(names))

    # --- building and changing --------------------------------------------------------------
    def makedirs(self, path: str, mtime: float = 0.0) -> Dir:
        node: Dir = self.root
        for part in [p for p in path.split("/") if p]:
            child = node.entries().get(part)
            if child is None:
                child = Dir(mtime=mtime)
                self._attach(node, part, child)
            if not isinstance(child, Dir):
                raise FsError(errno.ENOTDIR, path)
            node = child
        return node

    def write(self, path: str, content: str | Callable[[], str], *, mtime: float = 0.0,
              mode: int = 0o644, size: int | None = None, append: bool = False,
              cwd: str = "/", check: bool = False) -> File:
        """Create or replace a file; with `check`, honour immutable flags and a full disk."""
        full = path if path.startswith("/") else posixpath.join(cwd, path)
        parent_path, name = posixpath.split(posixpath.normpath(full))
        parent = self.lookup(parent_path) if check else self.makedirs(parent_path, mtime)
        if not isinstance(parent, Dir):
            raise FsError(errno.ENOTDIR, path)
        existing = parent.entries().get(name)
        if check:
            if isinstance(existing, Dir):
                raise FsError(errno.EISDIR, path)
            if (existing is None and parent.immutable) or (existing and existing.immutable):
                raise FsError(errno.EPERM, path)
            if self.full and (existing is None or content) and not self.on_other_mount(full):
                raise FsError(errno.ENOSPC, path)
        if isinstance(existing, File) and append:
            old = existing.read()
            existing.content = old + (content() if callable(content) else content)
            existing.mtime = mtime
            return existing
        node = File(content=content, mtime=mtime, mode=mode, fixed_size=size)
        self._attach(parent, name, node)
        return node

    def inode(self, node: Node) -> int:
        """A stable inode number for a node (allocated on first use)."""
        entry = self._inodes.get(id(node))
        if entry is None or entry[0] is not node:
            entry = (node, 131_073 + len(self._inodes))
            self._inodes[id(node)] = entry
        return entry[1]

    def on_other_mount(self, path: str) -> bool:
        norm = posixpath.normpath(path)
        return any(norm == m or norm.startswith(m.rstrip("/") + "/") for m in self.other_mounts)

    def symlink(self, path: str, target: str, mtime: float = 0.0) -> Symlink:
        parent_path, name = posixpath.split(path)
        parent = self.makedirs(parent_path, mtime)
        link = Symlink(target=target, mtime=mtime)
        self._attach(parent, name, link)
        return link

    @staticmethod
    def _attach(parent: Dir, name: str, node: Node) -> None:
        node.parent, node.name = parent, name
        parent.children[name] = node

    def unlink(self, node: Node) -> None:
        """Remove a node from its parent (caller checked permissions)."""
        parent = node.parent
        path = self.path_of(node)
        if parent is not None and parent.children.get(node.name) is node:
            del parent.children[node.name]
        node.deleted_path = path

    def remove_tree(self, path: str, cwd: str = "/") -> list[str]:
        """`rm -rf PATH` honouring immutable flags; returns rm's error lines."""
        try:
            node = self.lookup(path, cwd, follow=False)
        except FsError:
            return []
        errors: list[str] = []
        self._remove(node, path.rstrip("/") or "/", errors)
        return errors

    def _remove(self, node: Node, shown: str, errors: list[str]) -> bool:
        ok = True
        if isinstance(node, Dir) and not isinstance(node, VirtualDir):
            for name, child in list(node.children.items()):
                ok = self._remove(child, f"{shown}/{name}", errors) and ok
        elif isinstance(node, VirtualDir):
            errors.append(_rm_error(shown, errno.EPERM))
            return False
        if not ok:
            return False
        parent = node.parent
        if node.immutable or (parent is not None and parent.immutable):
            errors.append(_rm_error(shown, errno.EPERM))
            return False
        self.unlink(node)
        return True

    def walk(self, node: Dir, prefix: str) -> Iterator[tuple[str, Node]]:
        for name, child in sorted(node.entries().items()):
            path = f"{prefix.rstrip('/')}/{name}"
            yield path, child
            if isinstance(child, Dir) and not isinstance(child, VirtualDir):
                yield from self.walk(child, path)


def _rm_error(path: str, code: int) -> str:
    return f"rm: cannot remove '{path}': {strerror(code)}"


def mode_string(node: Node) -> str:
    """`drwxr-xr-x` style permissions."""
    bits = node.mode
    out = [node.kind]
    for shift in (6, 3, 0):
        part = (bits >> shift) & 7
        out.append("r" if part & 4 else "-")
        out.append("w" if part & 2 else "-")
        out.append("x" if part & 1 else "-")
    return "".join(out)
