# SPDX-License-Identifier: GPL-2.0-only
ifneq ($(KERNELRELEASE),)
# Kbuild: the driver as an external module (see the module target below).
obj-m := mapbuf.o
mapbuf-y := drivers/misc/mapbuf/mapbuf.o
ccflags-y := -I$(src)/include
else

# The project's entry point; tools/harness/run does the work.
# KSRC=<kernel git tree> applies the series to that tree instead of the
# cached linux-source-6.12; CACHE=<dir> moves the build cache.
HARNESS := tools/harness/run
KDIR ?= .cache/build-x86_64

.PHONY: check demo patches module clean distclean

check demo patches:
	$(HARNESS) $@

# Build mapbuf.ko out of tree against a configured kernel: make module KDIR=...
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf out

# Also drop the unpacked tree and every build in it (minutes to redo).
distclean: clean
	rm -rf .cache
endif
