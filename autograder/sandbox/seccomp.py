"""No network for an unprivileged sandbox without bubblewrap: a seccomp filter refusing IPv4 and IPv6 sockets.

bubblewrap gives the sandbox an empty network namespace; the process fallback cannot (a container's root may not
create namespaces), but any process with no_new_privs may install a seccomp filter on itself and its descendants.
This one makes socket(AF_INET or AF_INET6, ...) and io_uring_setup (whose operations could open sockets) fail with
EPERM, refuses every syscall of another ABI (i386, x32: socketcall would bypass the check) and allows the rest.
"""
from __future__ import annotations

import ctypes
import os
import struct

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
RET_ALLOW, RET_EPERM = 0x7FFF0000, 0x00050000 | 1
LD_ABS, JEQ, JGE, RET = 0x20, 0x15, 0x35, 0x06
"""BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_JMP|BPF_JGE|BPF_K, BPF_RET|BPF_K."""
NR, ARCH, ARG0 = 0, 4, 16
"""Offsets in struct seccomp_data: the syscall number, the audit arch, the low word of the first argument."""
X32_BIT, AF_INET, AF_INET6, IO_URING_SETUP = 0x40000000, 2, 10, 425
ARCHES = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}
"""machine → (AUDIT_ARCH_*, the number of socket())."""


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def forbid_network() -> bool:
    """Install the filter on the calling process (no_new_privs must be set); False on a machine it does not know."""
    arch = ARCHES.get(os.uname().machine)
    if arch is None:
        return False
    audit_arch, socket_nr = arch
    program = [
        (LD_ABS, 0, 0, ARCH),
        (JEQ, 1, 0, audit_arch),          # another ABI: refused
        (RET, 0, 0, RET_EPERM),
        (LD_ABS, 0, 0, NR),
        (JGE, 6, 0, X32_BIT),             # x32 syscalls → refused
        (JEQ, 5, 0, IO_URING_SETUP),      # → refused
        (JEQ, 0, 3, socket_nr),           # not socket() → allowed
        (LD_ABS, 0, 0, ARG0),
        (JEQ, 2, 0, AF_INET),             # → refused
        (JEQ, 1, 0, AF_INET6),            # → refused, else allowed
        (RET, 0, 0, RET_ALLOW),
        (RET, 0, 0, RET_EPERM),
    ]
    code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    fprog = _Program(len(program), code)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    return True
