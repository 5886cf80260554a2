#pragma once
// Symbol visibility for libvramsnap: everything is hidden unless marked.
#if defined(VRAMSNAP_STATIC_DEFINE)
#define VRAMSNAP_API
#elif defined(VRAMSNAP_BUILDING_LIBRARY)
#define VRAMSNAP_API __attribute__((visibility("default")))
#else
#define VRAMSNAP_API
#endif
