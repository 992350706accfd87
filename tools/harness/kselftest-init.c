// SPDX-License-Identifier: GPL-2.0-only
/*
 * PID 1 of the arm64 harness VM: what tools/harness/init does for
 * harness=check, for a guest that has no busybox of its own architecture.
 * Load mapbuf, run the kselftest programs (their TAP goes to the
 * console), check that the module unloads, and end the VM.
 *
 * Built static with the cross compiler that builds the kselftest, so the
 * VM needs nothing from the host but this file.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MODULE		"/mapbuf.ko"
#define MODULE_PARAMS	"nr_devices=2 size=1048576"
#define TEST_DIR	"/kselftest/mapbuf"

/* As TEST_GEN_PROGS in tools/testing/selftests/mapbuf/Makefile. */
static const char * const mapbuf_tests[] = { "mapbuf_test", "mapbuf_stress" };

static void mount_fs(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL))
		printf("HARNESS: mount %s: %m\n", dir);
}

/* insmod: the kernel reads the module from the open file. */
static int load_module(void)
{
	int fd = open(MODULE, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	return syscall(SYS_finit_module, fd, MODULE_PARAMS, 0);
}

/* Run a test in TEST_DIR, as run_kselftest.sh would; its wait status. */
static int run_test(const char *test)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (chdir(TEST_DIR) == 0)
			execl(test, test, (char *)NULL);
		printf("HARNESS: %s/%s: %m\n", TEST_DIR, test);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

int main(void)
{
	unsigned int i;

	mount_fs("proc", "/proc");
	mount_fs("sysfs", "/sys");
	mount_fs("devtmpfs", "/dev");

	if (load_module() == 0) {
		puts("HARNESS: kselftest");
		for (i = 0; i < sizeof(mapbuf_tests) / sizeof(*mapbuf_tests); i++)
			printf("HARNESS: %s wait status %d\n", mapbuf_tests[i],
			       run_test(mapbuf_tests[i]));
		/* Every fd and mapping is gone now: unloading must work. */
		if (syscall(SYS_delete_module, "mapbuf", O_NONBLOCK) == 0)
			puts("HARNESS: rmmod ok");
		else
			printf("HARNESS: rmmod: %m\n");
	} else {
		printf("HARNESS: insmod failed: %m\n");
	}
	puts("HARNESS: done");
	fflush(stdout);
	/* QEMU runs with -no-reboot: a reboot ends it. */
	reboot(RB_AUTOBOOT);
	return 1;
}
