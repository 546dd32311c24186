"""A seccomp filter that stops commands from making user namespaces (`unshare -Ur`).

bwrap's own `--disable-userns` needs `--unshare-user`, which a root-run bwrap cannot use
here: it would map only uid 0, and the commands must drop to a leased unprivileged uid.
So as root the sandbox gets this classic-BPF program instead (`bwrap --seccomp FD`):
unshare() and clone() with CLONE_NEWUSER fail with EPERM, clone3() (whose flags sit in
memory a filter cannot read) fails with ENOSYS so libc falls back to clone(), and calls
made through another ABI (32-bit or x32 on x86-64) fail, so they cannot go around it.
A nested user namespace would give the command a root of its own, with every capability
over the mounts and namespaces it creates.
"""
from __future__ import annotations

import errno
import platform
import struct

CLONE_NEWUSER = 0x10000000
# seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6] (little-endian hosts)
_NR, _ARCH, _ARG0_LO = 0, 4, 16
_LD_ABS, _JEQ, _JSET, _JGE, _RET = 0x20, 0x15, 0x45, 0x35, 0x06
_ALLOW = 0x7FFF0000
_ERRNO = 0x00050000
_X32_BIT = 0x40000000
# machine -> (audit arch, unshare, clone, clone3)
_ARCHES = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}


def supported() -> bool:
    return platform.machine() in _ARCHES


def program() -> bytes:
    """The filter as `struct sock_filter[]`, ready to be read by `bwrap --seccomp FD`."""
    arch, unshare, clone, clone3 = _ARCHES[platform.machine()]
    eperm, enosys = _ERRNO | errno.EPERM, _ERRNO | errno.ENOSYS
    # (code, jump-if-true, jump-if-false, k); jumps count instructions after the next one.
    ins = [
        (_LD_ABS, 0, 0, _ARCH),              # 0
        (_JEQ, 1, 0, arch),                  # 1  native ABI: go on at 3
        (_RET, 0, 0, enosys),                # 2  any other ABI: nothing
        (_LD_ABS, 0, 0, _NR),                # 3
        (_JGE, 6, 0, _X32_BIT),              # 4  x32 numbers on x86-64 -> 11
        (_JEQ, 5, 0, clone3),                # 5  -> 11
        (_JEQ, 1, 0, unshare),               # 6  -> 8
        (_JEQ, 0, 2, clone),                 # 7  clone -> 8, anything else -> 10
        (_LD_ABS, 0, 0, _ARG0_LO),           # 8  flags: unshare's and clone's first argument
        (_JSET, 2, 0, CLONE_NEWUSER),        # 9  -> 12
        (_RET, 0, 0, _ALLOW),                # 10
        (_RET, 0, 0, enosys),                # 11
        (_RET, 0, 0, eperm),                 # 12
    ]
    return b"".join(struct.pack("=HBBI", *i) for i in ins)
