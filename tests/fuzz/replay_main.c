/*
 * Replays a fuzz corpus without libFuzzer: feeds every regular file in the directory argv[1] to
 * LLVMFuzzerTestOneInput. Exits non-zero when the directory is missing or holds no file, so a
 * lost corpus fails CI instead of passing vacuously.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX_INPUT ((size_t)4 << 20)

static int replay_file(const char *path)
{
	int r = -1;
	FILE *f = NULL;
	uint8_t *buf = NULL;
	size_t len;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: cannot open: %s\n", path, strerror(errno));
		goto out;
	}
	if ((buf = malloc(REPLAY_MAX_INPUT + 1)) == NULL) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	len = fread(buf, 1, REPLAY_MAX_INPUT + 1, f);
	if (ferror(f) || len > REPLAY_MAX_INPUT) {
		fprintf(stderr, "%s: cannot read, or larger than %zu bytes\n", path, REPLAY_MAX_INPUT);
		goto out;
	}
	(void)LLVMFuzzerTestOneInput(buf, len);
	r = 0;
out:
	if (f)
		fclose(f);
	free(buf);
	return r;
}

int main(int argc, char **argv)
{
	int r = 1;
	DIR *dir = NULL;
	struct dirent *de;
	size_t count = 0;
	char path[4096];
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		goto out;
	}
	if ((dir = opendir(argv[1])) == NULL) {
		fprintf(stderr, "%s: cannot open corpus: %s\n", argv[1], strerror(errno));
		goto out;
	}
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name) >= sizeof(path)) {
			fprintf(stderr, "%s/%s: path too long\n", argv[1], de->d_name);
			goto out;
		}
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (replay_file(path) != 0)
			goto out;
		count++;
	}
	if (count == 0) {
		fprintf(stderr, "%s: empty corpus\n", argv[1]);
		goto out;
	}
	printf("replayed %zu inputs from %s\n", count, argv[1]);
	r = 0;
out:
	if (dir)
		closedir(dir);
	return r;
}
