// OpenSSL's libcrypto (Debian: libssl-dev, found through pkg-config "libcrypto"): its message
// digests, for SHA-256.
#include <openssl/evp.h>
