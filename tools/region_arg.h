#pragma once
// The --region grammar of `vramsnap capture`:
//   NAME=PATH[,kind=host|device|module|other][,dtype=D][,shape=AxB...]
//            [,va=0x...][,device=N][,flags=read_mostly+warm][,offset=N][,size=N]
// PATH ends at the first ',' (a PATH holding one goes in a --spec file). This
// file owns only the grammar; the file checks and the rules for region
// metadata are the library's (region_from_file, validate_region).
#include <string>

#include "vramsnap/sources.hpp"

namespace vramsnap::cli {

// Usage errors name the flag and the region: "--region 'w': shape: ...".
Result<RegionSource> parse_region_arg(const std::string& arg);

}  // namespace vramsnap::cli
