"""``pycoz root``: run a command in a throwaway root."""

from __future__ import annotations

from pycoz_cli.cli.options import (
    command_args,
    container_command,
    container_from_options,
    net_options,
    network_from_options,
    root_options,
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

    \b
    Examples:
      pycoz root -- rm -rf /usr/share/doc       # nothing is lost
      pycoz root --hostname box -- hostname
      pycoz root --upper ./changes -- apt-get install -y tree
      pycoz root --base ./rootfs --bind "$PWD:/src" -w /src -- make
      pycoz root --net pair --host h1 -- sh -c 'echo hi > /etc/motd; ping -c1 h2'
    """
    import contextlib

    from pycoz_cli.core.process import SignalsHeld, exit_code_for, wait_passing_signals

    with contextlib.ExitStack() as stack:
        network, host = network_from_options(params, stack)
        container = container_from_options(params)
        container.network, container.host = network, host
        with SignalsHeld():
            proc = container.spawn(command, close_fds=False)
            returncode = wait_passing_signals(proc)
    return exit_code_for(returncode)
