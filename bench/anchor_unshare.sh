#!/bin/sh
# Anchor for the cost of `pycoz root`: the same container, built with util-linux.
#
#   bench/anchor_unshare.sh [COMMAND [ARG...]]      (default: /bin/true; needs root)
#
# New mount, pid, UTS and IPC namespaces with private propagation; a tmpfs holds the
# overlay's upper and work directories and the new root's mount point; an overlay of
# / is mounted there; pivot_root moves into it; a fresh /proc is mounted for the new
# pid namespace (the shell is its pid 1); the old root is detached, and COMMAND
# replaces the shell.  Every mount lives in the new mount namespace only, so all of
# them vanish with its last process: nothing is left on the host.
#
# Unlike pycoz it makes no /dev or /sys and does not overlay the filesystems mounted
# below / (pycoz does all three), so it is a floor rather than an equal.
set -eu
[ "$#" -gt 0 ] || set -- /bin/true
exec unshare --mount --pid --fork --uts --ipc --propagation private -- /bin/sh -euc '
    stage=/tmp    # any directory will do: the mount namespace is private
    mount -t tmpfs -o mode=0755 anchor "$stage"
    mkdir "$stage/upper" "$stage/work" "$stage/root"
    mount -t overlay -o "lowerdir=/,upperdir=$stage/upper,workdir=$stage/work" \
        overlay "$stage/root"
    cd "$stage/root"
    pivot_root . .    # the old root is now stacked on the new one at /
    # umount(8) needs /proc/self/mountinfo, so the fresh /proc comes first: this
    # shell is pid 1 of the new pid namespace, and /proc lands in the new root.
    mount -t proc -o nosuid,nodev,noexec proc /proc
    umount -l .       # detach the old root (and the staging tmpfs with it)
    cd /
    exec "$@"
' anchor-unshare "$@"
