"""Command-line options that several commands share."""


def add_accel(p, default=None):
    p.add_argument("--accel", choices=("kvm", "tcg", "auto"), default=default,
                   help="QEMU accelerator (default: the guest's, tcg); kvm falls back "
                        "to tcg if the kernel does not start")


def add_stressor_arg(p):
    p.add_argument("--stressor-arg", action="append", default=[], metavar="ARG",
                   help="one more stressor argument after the scenario's (repeat it; "
                        "the last value of an option wins), e.g. --stressor-arg=--swap=zram:64M")
