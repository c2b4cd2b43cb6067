/* Message header checks that need no full MIME parse. */
#ifndef GANNET_MIME_HEADER_H
#define GANNET_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/* True if the header (everything before the first empty line) holds a byte
 * above 0x7f. For a file, -1 on a read error. */
bool mime_header_has_8bit(const char *data, size_t len);
int mime_file_header_has_8bit(const char *path);

#endif
