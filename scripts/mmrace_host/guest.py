"""The test guest's settings as data, as kunit's qemu_configs/ are.

One Guest value holds everything about a guest that is not its job: QEMU's
machine (vCPUs, memory, accelerator, extra arguments such as NUMA nodes or
disks), the kernel command line, the kernel modules /init loads, the file
systems and the swap device it creates, the host tools it ships with their
libraries, and the time-outs.  DEFAULT is what every command boots; a scenario's [guest] table
replaces fields of it (FIELDS), so a scenario can ask for XFS, more memory
or NUMA nodes without a code change.

Every guest also gets BASE_CMDLINE and /init's own knobs (mmrace.*, see
scripts/guest/init), derived here from the fields.
"""

import dataclasses
import re
from dataclasses import dataclass

BASE_CMDLINE = "console=ttyS0 panic=-1 printk.time=1 rdinit=/init"

# mkfs tool (host binary shipped into the guest) per file-system type
MKFS_TOOL = {"ext4": "mke2fs", "ext2": "mke2fs", "xfs": "mkfs.xfs"}


@dataclass(frozen=True)
class Guest:
    smp: int = 4
    mem: str = "2G"
    accel: str = "tcg"              # tcg | kvm | auto | icount (qemu.py)
    cmdline: str = ""               # appended after BASE_CMDLINE and /init's knobs
    qemu_args: tuple = ()           # more QEMU arguments, e.g. ("-numa", "node,...")
    # kernel modules /init loads in this order, their dependencies first
    modules: tuple = ("crc32c_generic", "ext4", "brd", "zram", "virtio_pci", "virtio_blk")
    ramdisk: str = "128M"           # size of /dev/ram0 (brd)
    # "DEVICE:TYPE:MOUNTPOINT", created and mounted by /init before the job
    filesystems: tuple = ("/dev/ram0:ext4:/mnt/ext4",)
    swap: str = ""                  # "zram:SIZE": a zram swap device, on before the job
    host_tools: tuple = ("trace-cmd",)  # besides the filesystems' mkfs tools
    timeout_slack_s: float = 240    # boot, mkfs and trace extraction under TCG

    def kernel_cmdline(self, job_timeout_s: float) -> str:
        return " ".join(x for x in (
            BASE_CMDLINE, f"mmrace.job_timeout={int(job_timeout_s)}",
            f"mmrace.rd_size={self.ramdisk}", f"mmrace.fs={','.join(self.filesystems)}",
            f"mmrace.swap={self.swap}" if self.swap else "", self.cmdline) if x)

    def tools(self) -> tuple:
        """Host tools to ship: host_tools and every file system's mkfs."""
        mkfs = (MKFS_TOOL[fs.split(":")[1]] for fs in self.filesystems)
        return tuple(dict.fromkeys((*self.host_tools, *mkfs)))

    def replace(self, **changes) -> "Guest":
        return dataclasses.replace(self, **changes)


DEFAULT = Guest()

# fields a scenario's [guest] table may set, with their TOML types
FIELDS = {"smp": int, "mem": str, "qemu_args": list, "modules": list, "ramdisk": str,
          "filesystems": list, "swap": str, "host_tools": list,
          "timeout_slack_s": (int, float)}


def check_filesystem(spec: str) -> str:
    """None if spec is DEVICE:TYPE:MOUNTPOINT with a known type, else why not."""
    parts = spec.split(":")
    if len(parts) != 3 or not all(parts) or not parts[2].startswith("/"):
        return f"file system '{spec}' is not DEVICE:TYPE:/MOUNTPOINT"
    if parts[1] not in MKFS_TOOL:
        return f"file system type '{parts[1]}' unknown (known: {', '.join(MKFS_TOOL)})"
    return None


def check_swap(spec: str) -> str:
    """None if spec is zram:SIZE (SIZE a number with K, M or G), else why not."""
    if re.fullmatch(r"zram:[1-9][0-9]*[KMG]", spec):
        return None
    return f"swap '{spec}' is not zram:SIZE (e.g. zram:256M)"


def from_table(table: dict, base: Guest = DEFAULT) -> Guest:
    """base with a scenario's [guest] fields; lists become tuples.  The
    caller has checked the keys and types against FIELDS."""
    return base.replace(**{k: tuple(v) if isinstance(v, list) else v
                           for k, v in table.items()})
