/* Links against libzen and checks zen_version() against the expected version
 * given on the command line. */
#include <stdio.h>
#include <string.h>

#include "zen.h"

int main(int argc, char **argv) {
    const char *version = zen_version();
    if (argc != 2) {
        fprintf(stderr, "usage: %s EXPECTED_VERSION\n", argv[0]);
        return 2;
    }
    if (version == NULL || strcmp(version, argv[1]) != 0) {
        fprintf(stderr, "zen_version() returned %s, expected %s\n",
                version ? version : "(null)", argv[1]);
        return 1;
    }
    char from_macros[64];
    snprintf(from_macros, sizeof from_macros, "%d.%d.%d", ZEN_VERSION_MAJOR,
             ZEN_VERSION_MINOR, ZEN_VERSION_PATCH);
    if (strcmp(from_macros, version) != 0) {
        fprintf(stderr, "zen.h says %s but the library is %s: update the version "
                        "macros in zen-ffi/cbindgen.toml\n", from_macros, version);
        return 1;
    }
    printf("zen_version() = %s\n", version);
    return 0;
}
