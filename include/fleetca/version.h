/*
 * The versions of the libraries fleetca runs with, for `fleetca --version`. Each is read from the
 * library at run time by its own adapter (src/io), so the header of a library stays in its adapter.
 */
#ifndef FLEETCA_VERSION_H
#define FLEETCA_VERSION_H

/* OpenSSL, e.g. "3.0.17" (src/io/crypto.c). */
const char *fca_crypto_library_version(void);
/* libmariadb's client library, e.g. "3.3.14" (src/io/store.c). */
const char *fca_store_library_version(void);
/* libgit2, e.g. "1.5.1" (src/io/source.c). */
const char *fca_source_library_version(void);
/* libcurl, e.g. "7.88.1" (src/io/fleet_api.c). */
const char *fca_fleet_api_library_version(void);

#endif
