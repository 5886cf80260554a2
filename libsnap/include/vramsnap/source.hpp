#pragma once
// Where a snapshot is read from. A Source is read-only random access to one
// immutable object: a local file today, an HTTP(S) or OCI blob through the
// same interface. Everything above it (open, verify, restore) reads through
// it and never knows which kind it has.
//
// Reads are whole extents: the reader asks for a chunk and its alignment
// padding in one call, so a remote source makes one request per chunk. A
// source hands the extent over in order, piece by piece, as it arrives
// (`on_piece`), so the caller can hash each piece while it is still in the
// core's cache instead of re-reading the whole extent from memory.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "vramsnap/error.hpp"
#include "vramsnap/export.h"

namespace vramsnap {

class VRAMSNAP_API Source {
 public:
  virtual ~Source();

  // Path or URL, for messages.
  virtual const std::string& name() const = 0;
  // Size in bytes, fixed for the life of the source.
  virtual uint64_t size() const = 0;
  // What this object is, stable while it is unchanged: for a file its device,
  // inode, size and modification time; for a remote object its ETag or
  // digest. Two reads of the same identity return the same bytes.
  virtual std::string identity() const = 0;

  // Called with consecutive, non-overlapping parts of the destination, in
  // order, each as soon as it has been filled. An error stops the read and is
  // returned from it.
  using PieceFn = std::function<Status(std::span<const uint8_t> piece)>;

  // Fills the parts, in order, with the consecutive bytes starting at
  // offset: one extent, scattered (a chunk straight into its destination,
  // its alignment padding into a scratch page). Thread-safe: many threads
  // read one source concurrently. Reading past size() is a Format error
  // ("truncated"); a failing disk or connection is an IO error. When
  // on_piece is set it has seen every byte of every part, in order, by the
  // time readv returns successfully.
  virtual Status readv(uint64_t offset, std::span<const std::span<uint8_t>> parts,
                       const PieceFn& on_piece = {}) const = 0;

  // readv with one part.
  Status read(uint64_t offset, std::span<uint8_t> dst, const PieceFn& on_piece = {}) const {
    const std::span<uint8_t> parts[1] = {dst};
    return readv(offset, parts, on_piece);
  }

  // Hints; sources that cannot use them ignore them.
  virtual void advise_sequential() const {}
  virtual void drop_cache() const {}
};

// A regular file, opened read-only (never a directory, FIFO, device or socket).
VRAMSNAP_API Result<std::shared_ptr<const Source>> open_file_source(const std::string& path);

}  // namespace vramsnap
