/* enum_word — the enum words of the JSON mapping, for callers outside lib/pb
 * (the OpenAPI document lists them), so that no one spells them twice. */
#include "pb/internal.h"
#include "pb/pb.h"

const char *pb_enum_word(const ProtobufCEnumDescriptor *e, int value, char *buf, size_t cap) {
    return pb__enum_word(e, (int32_t)value, buf, cap);
}
