// SPDX-License-Identifier: GPL-2.0-only
/*
 * Corpus replay for a libFuzzer target without libFuzzer: feeds every file
 * of the directories (or files) named on the command line to
 * LLVMFuzzerTestOneInput once. A crash or trap fails the test; an empty or
 * missing corpus fails too, so a lost corpus cannot pass silently.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	static uint8_t buf[1 << 20];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;
		struct dirent *e;
		DIR *d;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: missing\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			count += run_file(argv[i]) == 0;
			continue;
		}
		d = opendir(argv[i]);
		if (!d)
			return 1;
		while ((e = readdir(d))) {
			char p[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", argv[i], e->d_name);
			count += run_file(p) == 0;
		}
		closedir(d);
	}
	printf("replay: %u input(s) ran\n", count);
	return count ? 0 : 1;
}
