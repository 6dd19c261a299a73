// DFS_MSGPACK_MAP(field, ...): a struct's msgpack form as a map from field
// name to value, as MSGPACK_DEFINE_MAP makes it (the same bytes both ways).
// Only decoding differs: msgpack-cxx copies every key of the map into a
// std::map of strings before looking the fields up, a dozen allocations
// for a Raft message; here each key is compared in place with the names of
// the fields. The rules stay msgpack's: a key that is not a string is a
// type error, an unknown key is skipped (a newer peer's field), a missing
// field keeps its default, and of a repeated key the first counts.
#pragma once

#include <msgpack.hpp>

#include <array>
#include <cstddef>
#include <string_view>
#include <tuple>
#include <utility>

namespace dfs::codec_detail {

template <size_t N>
constexpr std::string_view field_name(const char (&name)[N]) {
  return std::string_view(name, N - 1);
}

// Decodes into fields named by (name, field) pairs: name0, field0, name1, ...
template <typename... Args>
struct MapFields {
  static constexpr size_t kFields = sizeof...(Args) / 2;
  static_assert(sizeof...(Args) % 2 == 0, "names and fields come in pairs");

  void unpack(const msgpack::object& o) const {
    if (o.type != msgpack::type::MAP) throw msgpack::type_error();
    std::array<bool, kFields> seen{};
    for (uint32_t i = 0; i < o.via.map.size; ++i) {
      const msgpack::object_kv& kv = o.via.map.ptr[i];
      if (kv.key.type != msgpack::type::STR) throw msgpack::type_error();
      take(std::string_view(kv.key.via.str.ptr, kv.key.via.str.size), kv.val, &seen,
           std::make_index_sequence<kFields>{});
    }
  }

  template <size_t... I>
  void take(std::string_view key, const msgpack::object& value, std::array<bool, kFields>* seen,
            std::index_sequence<I...>) const {
    (void)((key == field_name(std::get<2 * I>(fields)) && (set<I>(value, seen), true)) || ...);
  }

  template <size_t I>
  void set(const msgpack::object& value, std::array<bool, kFields>* seen) const {
    if ((*seen)[I]) return;
    (*seen)[I] = true;
    value.convert(std::get<2 * I + 1>(fields));
  }

  std::tuple<Args&...> fields;
};

template <typename... Args>
MapFields<Args...> map_fields(Args&... args) {
  return MapFields<Args...>{std::tie(args...)};
}

}  // namespace dfs::codec_detail

#define DFS_MSGPACK_MAP(...)                                                                      \
  template <typename Packer>                                                                      \
  void msgpack_pack(Packer& msgpack_pk) const {                                                   \
    msgpack::type::make_define_map MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).msgpack_pack(msgpack_pk); \
  }                                                                                               \
  void msgpack_unpack(msgpack::object const& msgpack_o) {                                         \
    ::dfs::codec_detail::map_fields MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__).unpack(msgpack_o);       \
  }                                                                                               \
  template <typename MSGPACK_OBJECT>                                                              \
  void msgpack_object(MSGPACK_OBJECT* msgpack_o, msgpack::zone& msgpack_z) const {                \
    msgpack::type::make_define_map MSGPACK_DEFINE_MAP_IMPL(__VA_ARGS__)                           \
        .msgpack_object(msgpack_o, msgpack_z);                                                    \
  }
