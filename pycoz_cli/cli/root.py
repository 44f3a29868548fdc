"""``pycoz root``: run a command in a throwaway root."""

from __future__ import annotations

from pycoz_cli.cli.options import (
    command_args,
    container_command,
    container_from_options,
    net_options,
    root_options,
    run_in_container,
)


@container_command(name="root")
@root_options
@net_options
@command_args
def root(command: tuple[str, ...], **params) -> int:
    """Run COMMAND in a throwaway root and exit with its status.

    The root is an overlay over --base (default /) held in memory: every write,
    delete and rename inside, on every filesystem mounted under the base, is
    discarded at exit. /dev, /proc and /sys are fresh, the pid, mount, UTS and
    IPC namespaces are new, and the network is the host's unless --net or
    --join places the command in a host of a topology. With no COMMAND, run
    the user's shell.

    Run by an ordinary user (or with --rootless), pycoz first enters a user
    namespace of its own in which it is root: the same root and fence, but files
    of other users show as nobody and cannot be changed, /sys is the host's
    read-only without --net, and --memory/--pids/--cpus are refused.

    \b
    Examples:
      pycoz root -- rm -rf /usr/share/doc       # nothing is lost
      pycoz root --hostname box -- hostname
      pycoz root --upper ./changes -- apt-get install -y tree
      pycoz root --base ./rootfs --bind "$PWD:/src" -w /src -- make
      pycoz root --net pair --host h1 -- sh -c 'echo hi > /etc/motd; ping -c1 h2'
    """
    import contextlib

    with contextlib.ExitStack() as stack:
        return run_in_container(container_from_options(params, stack), command)
