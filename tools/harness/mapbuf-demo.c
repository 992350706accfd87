// SPDX-License-Identifier: GPL-2.0-only
/*
 * The seeds' story on the real driver: a store through a MAP_SHARED
 * mapping is seen by read(2); a store through a MAP_PRIVATE mapping is
 * not; and /proc/self/maps lists both mappings as the device.
 */
#include <fcntl.h>
#include <linux/mapbuf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEV "/dev/mapbuf0"

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* Store "new" through a mapping of @flags, then compare with read(2). */
static void story(int fd, int flags, const char *name)
{
	char *map, seen[16] = "";

	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (map == MAP_FAILED)
		die("mmap");
	printf("%s: mapping shows \"%s\", storing \"new\"\n", name, map);
	strcpy(map, "new");
	if (pread(fd, seen, sizeof(seen) - 1, 0) < 0)
		die("pread");
	if (!strcmp(map, seen))
		printf("%s: read() sees \"%s\": compare ok\n", name, seen);
	else
		printf("%s: read() sees \"%s\", the mapping \"%s\": the driver still has the old bytes\n",
		       name, seen, map);
}

static void show_maps(void)
{
	char line[256];
	FILE *maps = fopen("/proc/self/maps", "r");

	if (!maps)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, DEV))
			printf("/proc/self/maps: %s", line);
	fclose(maps);
}

int main(void)
{
	struct mapbuf_info info;
	int fd = open(DEV, O_RDWR);

	if (fd < 0)
		die(DEV);
	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		die("MAPBUF_IOC_INFO");
	printf("%s: %llu bytes, zeroed at load\n", DEV,
	       (unsigned long long)info.size);

	if (pwrite(fd, "old", 4, 0) != 4)
		die("pwrite");
	story(fd, MAP_PRIVATE, "MAP_PRIVATE");
	story(fd, MAP_SHARED, "MAP_SHARED");
	show_maps();
	if (ioctl(fd, MAPBUF_IOC_INFO, &info))
		die("MAPBUF_IOC_INFO");
	printf("MAPBUF_IOC_INFO: %u live mappings\n", info.nr_mappings);
	return 0;
}
