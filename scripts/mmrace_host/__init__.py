"""Host side of mmrace: kernel packs, module builds, initramfs, QEMU runner."""
