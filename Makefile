# SPDX-License-Identifier: GPL-2.0-only
ifneq ($(KERNELRELEASE),)
# Kbuild: the driver as an external module (see the module target below).
obj-m := mapbuf.o
mapbuf-y := drivers/misc/mapbuf/mapbuf_main.o drivers/misc/mapbuf/mapbuf_dmabuf.o
ccflags-y := -I$(src)/include
else

# The project's entry point; tools/harness/run does the work. Builds and
# downloads live in CACHE (default ~/.cache/mapbuf), outside the clone.
# KSRC=<kernel git tree> applies the mainline series to that tree instead
# of Debian's linux-source package; KERNEL=mainline|6.12 narrows a run.
HARNESS := tools/harness/run
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mapbuf
KDIR ?= $(CACHE)/mainline/build-x86_64
export CACHE

.PHONY: check demo demo-debug bench patches source module clean distclean

check demo demo-debug bench patches source:
	$(HARNESS) $@

# Build mapbuf.ko out of tree against a configured kernel: make module KDIR=...
module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf out

# Also drop every download, tree, build and ccache object (an hour to redo).
distclean: clean
	rm -rf $(CACHE)
endif
