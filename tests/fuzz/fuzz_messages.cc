// Every message, command and Raft type dfs decodes, from arbitrary bytes.
// The first byte picks the type (see kDecoders); the rest is the body. A
// body that decodes must survive a second round: encoding it and decoding
// that gives the same bytes again, or what one replica wrote another could
// not read back. A Command's own body is decoded as the type it names.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/codec.h"
#include "codec/commands.h"
#include "codec/messages.h"
#include "codec/raft_messages.h"
#include "tests/fuzz/message_table.h"

namespace dfs {
namespace {

template <typename T>
bool round_trips(std::string_view body) {
  auto first = decode<T>(body);
  if (!first.is_ok()) return false;
  std::string bytes = encode(first.value());
  auto second = decode<T>(bytes);
  if (!second.is_ok() || encode(second.value()) != bytes) std::abort();
  return true;
}

using Decoder = bool (*)(std::string_view);

template <typename... T>
constexpr std::array<Decoder, sizeof...(T)> table(std::tuple<T...>*) {
  return {&round_trips<T>...};
}

const auto kDecoders = table(static_cast<fuzz::MessageTypes*>(nullptr));

// A log entry, then its body as the command it says it is.
bool command(std::string_view body) {
  if (!round_trips<Command>(body)) return false;
  auto cmd = decode<Command>(body).value();
  for (auto decoder : kDecoders) decoder(cmd.body);  // whichever it is, none may crash
  return true;
}

}  // namespace
}  // namespace dfs

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] == dfs::fuzz::kCommandPick) {
    dfs::command(body);
  } else {
    dfs::kDecoders[data[0] % dfs::kDecoders.size()](body);
  }
  return 0;
}
