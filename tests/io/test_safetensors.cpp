// models/io/safetensors: round trips through write_safetensors, sharded checkpoints, and one
// test case per malformed input (each error is one line naming the file and the tensor or
// value at fault).
#include <cstring>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "models/io/safetensors.h"

namespace braid {
namespace {

using nlohmann::json;
using test::check_error;
using test::raw_safetensors;
using test::TempDir;
using test::write_file;

// One tensor's data for the round trips: values of every dtype, with exact bit patterns.
struct Sample {
  std::vector<float> f32{1.5f, -2.25f, 0.0f, 3.0e-38f, 65504.0f, -1.0e30f};
  // bf16: 1.0, -0, +Inf, -Inf, quiet NaN with payload, smallest subnormal, largest finite.
  std::vector<uint16_t> bf16{0x3f80, 0x8000, 0x7f80, 0xff80, 0x7fc1, 0x0001, 0x7f7f, 0xc2f7};
  // f16: 1.0, -2.0, 65504, smallest subnormal, NaN, -0.
  std::vector<uint16_t> f16{0x3c00, 0xc000, 0x7bff, 0x0001, 0x7e00, 0x8000};
  std::vector<int32_t> i32{0, -1, 2147483647, -2147483647 - 1};
  std::vector<int64_t> i64{0, -1, int64_t{1} << 62, -(int64_t{1} << 40), 7, 8};
};

std::vector<SafetensorsWrite> sample_writes(const Sample& s) {
  return {
      {"model.f32", DType::f32, Shape{2, 3}, s.f32.data()},
      {"model.bf16", DType::bf16, Shape{2, 2, 2}, s.bf16.data()},
      {"model.f16", DType::f16, Shape{6}, s.f16.data()},
      {"model.i32", DType::i32, Shape{4, 1}, s.i32.data()},
      {"model.i64", DType::i64, Shape{3, 2}, s.i64.data()},
      {"model.empty", DType::f32, Shape{0, 4}, nullptr},
      {"model.scalar", DType::i64, Shape{}, s.i64.data() + 4},
  };
}

void check_same(const SafetensorsTensor* t, const SafetensorsWrite& w) {
  REQUIRE_MESSAGE(t != nullptr, w.name);
  CHECK(t->name == w.name);
  CHECK(t->dtype == w.dtype);
  CHECK(t->shape == w.shape);
  const size_t n = static_cast<size_t>(w.shape.numel()) * dtype_size(w.dtype);
  CHECK(t->nbytes == n);
  if (n > 0) CHECK(std::memcmp(t->data, w.data, n) == 0);
}

// The header JSON of a file as written.
json header_of(const std::string& path, uint64_t* n_out = nullptr) {
  const std::string bytes = test::slurp(path);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[static_cast<size_t>(i)]);
  if (n_out) *n_out = n;
  return json::parse(bytes.substr(8, n));
}

// A checkpoint split over two shards plus its index: w[0..2] in the first, w[3..4] in the second.
void write_sharded(const TempDir& tmp, const std::vector<SafetensorsWrite>& w) {
  write_safetensors(tmp / "model-00001-of-00002.safetensors", {w[0], w[1], w[2]}, {});
  write_safetensors(tmp / "model-00002-of-00002.safetensors", {w[3], w[4]}, {});
  json index = {{"metadata", {{"total_size", 123}}}, {"weight_map", json::object()}};
  for (int i = 0; i < 3; ++i) index["weight_map"][w[static_cast<size_t>(i)].name] = "model-00001-of-00002.safetensors";
  for (int i = 3; i < 5; ++i) index["weight_map"][w[static_cast<size_t>(i)].name] = "model-00002-of-00002.safetensors";
  write_file(tmp / "model.safetensors.index.json", index.dump(2));
}

// A valid two-tensor header over a 24-byte data section, with one entry replaced.
std::string header_with(const std::string& name, const json& entry) {
  json h = {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
            {"b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 24}}}}};
  h[name] = entry;
  return h.dump();
}

const std::string kData24(24, '\x01');

// ---- round trips -----------------------------------------------------------------------------

TEST_CASE("safetensors: write then read all five dtypes, bit for bit") {
  TempDir tmp;
  const Sample s;
  const std::vector<SafetensorsWrite> w = sample_writes(s);
  const std::string path = tmp / "model.safetensors";
  write_safetensors(path, w, {{"note", "round trip"}});
  CHECK(!test::fs::exists(path + ".tmp"));

  const SafetensorsFile f(path);
  CHECK(f.path() == path);
  CHECK(f.tensors().size() == w.size());
  for (const SafetensorsWrite& x : w) {
    const SafetensorsTensor* t = f.find(x.name);
    check_same(t, x);
    CHECK(t->file == path);
  }
  CHECK(f.find("model.missing") == nullptr);
  CHECK(f.metadata().at("note") == "round trip");
  CHECK(f.metadata().at("format") == "pt");
  // Tensors come sorted by name.
  for (size_t i = 1; i < f.tensors().size(); ++i) CHECK(f.tensors()[i - 1].name < f.tensors()[i].name);
}

TEST_CASE("safetensors: the header is sorted, space-padded to 8 bytes and has __metadata__") {
  TempDir tmp;
  const Sample s;
  const std::string path = tmp / "x.safetensors";
  write_safetensors(path, sample_writes(s), {{"format", "np"}});
  uint64_t n = 0;
  const json h = header_of(path, &n);
  CHECK(n % 8 == 0);
  CHECK(h.at("__metadata__").at("format") == "np");  // the caller's format wins
  CHECK(h.at("model.bf16").at("dtype") == "BF16");
  CHECK(h.at("model.i64").at("shape") == json({3, 2}));
  // Keys sorted in the bytes: "__metadata__" < "model.bf16" < "model.empty" < ...
  const std::string text = test::slurp(path).substr(8, n);
  CHECK(text.find("\"__metadata__\"") < text.find("\"model.bf16\""));
  CHECK(text.find("\"model.bf16\"") < text.find("\"model.f16\""));
  CHECK(text[text.find_last_not_of(' ')] == '}');  // JSON, then only padding spaces
  // Data follows in the caller's order: f32 first at offset 0.
  CHECK(h.at("model.f32").at("data_offsets") == json({0, 24}));
}

TEST_CASE("safetensors: WeightStore opens a single-file checkpoint") {
  TempDir tmp;
  const Sample s;
  const std::vector<SafetensorsWrite> w = sample_writes(s);
  write_safetensors(tmp / "model.safetensors", w, {});
  const WeightStore ws = WeightStore::open(tmp.path.string());
  CHECK(ws.shards().size() == 1);
  CHECK(ws.names().size() == w.size());
  for (const SafetensorsWrite& x : w) check_same(ws.find(x.name), x);
  CHECK(ws.find("nope") == nullptr);
}

TEST_CASE("safetensors: sharded index round trip") {
  TempDir tmp;
  const Sample s;
  const std::vector<SafetensorsWrite> w = sample_writes(s);
  write_sharded(tmp, w);
  WeightStore opened = WeightStore::open(tmp.path.string());
  const WeightStore ws = std::move(opened);  // moving keeps the tensor pointers valid
  CHECK(ws.shards().size() == 2);
  const std::vector<std::string> names = ws.names();
  CHECK(names == std::vector<std::string>{"model.bf16", "model.f16", "model.f32", "model.i32", "model.i64"});
  for (size_t i = 0; i < 5; ++i) check_same(ws.find(w[i].name), w[i]);
  CHECK(ws.find("model.i32")->file == tmp / "model-00002-of-00002.safetensors");
  CHECK(ws.find("model.f32")->file == tmp / "model-00001-of-00002.safetensors");
}

// ---- malformed files: one case each ------------------------------------------------------------

TEST_CASE("safetensors bad input: truncated (< 8 bytes)") {
  TempDir tmp;
  const std::string p = tmp / "short.safetensors";
  write_file(p, std::string("\x10\x00\x00", 3));
  check_error([&] { SafetensorsFile f(p); }, {"short.safetensors", "truncated header", "3 bytes"});
}

TEST_CASE("safetensors bad input: oversized header") {
  TempDir tmp;
  const std::string p = tmp / "big.safetensors";
  write_file(p, test::u64_le(uint64_t{1} << 40) + "{}");
  check_error([&] { SafetensorsFile f(p); }, {"big.safetensors", "oversized header", "1099511627776"});
}

TEST_CASE("safetensors bad input: header length past the end of the file") {
  TempDir tmp;
  const std::string p = tmp / "cut.safetensors";
  write_file(p, test::u64_le(1000) + "{\"a\": {}}");
  check_error([&] { SafetensorsFile f(p); }, {"cut.safetensors", "header length 1000 exceeds file size 17"});
}

TEST_CASE("safetensors bad input: header is not JSON") {
  TempDir tmp;
  const std::string p = tmp / "garbage.safetensors";
  write_file(p, raw_safetensors("{\"model.embed_tokens.weight\": [", ""));
  check_error([&] { SafetensorsFile f(p); }, {"garbage.safetensors", "header is not valid JSON"});
}

TEST_CASE("safetensors bad input: header JSON is not an object") {
  TempDir tmp;
  const std::string p = tmp / "array.safetensors";
  write_file(p, raw_safetensors("[1, 2, 3]", ""));
  check_error([&] { SafetensorsFile f(p); }, {"array.safetensors", "not a JSON object", "array"});
}

TEST_CASE("safetensors bad input: unknown dtype") {
  TempDir tmp;
  const std::string p = tmp / "f64.safetensors";
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F64"}, {"shape", {2}}, {"data_offsets", {8, 24}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"f64.safetensors", "'b'", "unsupported dtype 'F64'"});
  // braid's own spellings are not safetensors spellings.
  write_file(p, raw_safetensors(header_with("a", {{"dtype", "f32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"f64.safetensors", "'a'", "unsupported dtype 'f32'"});
}

TEST_CASE("safetensors bad input: missing data_offsets") {
  TempDir tmp;
  const std::string p = tmp / "nooff.safetensors";
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {4}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"nooff.safetensors", "'b'", "missing \"data_offsets\""});
}

TEST_CASE("safetensors bad input: entry that is not an object, or has mistyped fields") {
  TempDir tmp;
  const std::string p = tmp / "types.safetensors";
  write_file(p, raw_safetensors(header_with("b", 42), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"types.safetensors", "'b'", "must be an object"});
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", "4"}, {"data_offsets", {8, 24}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"types.safetensors", "'b'", "\"shape\" must be an array"});
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {2, -2}}, {"data_offsets", {8, 24}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"types.safetensors", "'b'", "negative dimension -2"});
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8.0, 24}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"types.safetensors", "'b'", "data_offsets"});
}

TEST_CASE("safetensors bad input: offsets past the end of the file") {
  TempDir tmp;
  const std::string p = tmp / "past.safetensors";
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {16, 32}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"past.safetensors", "'b'", "offsets [16, 32) past the end of the data (size 24)"});
}

TEST_CASE("safetensors bad input: offsets with begin > end") {
  TempDir tmp;
  const std::string p = tmp / "rev.safetensors";
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {24, 8}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"rev.safetensors", "'b'", "[24, 8)", "begin > end"});
}

TEST_CASE("safetensors bad input: byte count does not match the shape") {
  TempDir tmp;
  const std::string p = tmp / "size.safetensors";
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "BF16"}, {"shape", {3, 4}}, {"data_offsets", {8, 24}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"size.safetensors", "'b'", "16 bytes", "[3, 4]", "BF16", "needs 24"});
}

TEST_CASE("safetensors bad input: numel overflow") {
  TempDir tmp;
  const std::string p = tmp / "huge.safetensors";
  const json shape = {uint64_t{1} << 32, uint64_t{1} << 32};
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {8, 24}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"huge.safetensors", "'b'", "overflow"});
}

TEST_CASE("safetensors bad input: overlapping tensors") {
  TempDir tmp;
  const std::string p = tmp / "overlap.safetensors";
  write_file(p, raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {4, 20}}}), kData24));
  check_error([&] { SafetensorsFile f(p); }, {"overlap.safetensors", "'a' [0, 8)", "'b' [4, 20)", "overlap"});
}

TEST_CASE("safetensors bad input: metadata that is not strings") {
  TempDir tmp;
  const std::string p = tmp / "meta.safetensors";
  write_file(p, raw_safetensors("{\"__metadata__\": {\"format\": 1}}", ""));
  check_error([&] { SafetensorsFile f(p); }, {"meta.safetensors", "__metadata__", "'format'"});
}

TEST_CASE("safetensors: a header padded with spaces and zero tensors is fine") {
  TempDir tmp;
  const std::string p = tmp / "empty.safetensors";
  write_file(p, raw_safetensors("{}      ", ""));
  const SafetensorsFile f(p);
  CHECK(f.tensors().empty());
  CHECK(f.metadata().empty());
}

// ---- checkpoint directories ---------------------------------------------------------------------

TEST_CASE("weight store bad input: missing directory") {
  TempDir tmp;
  const std::string d = tmp / "no-such-model";
  check_error([&] { WeightStore::open(d); }, {"no-such-model", "does not exist"});
}

TEST_CASE("weight store bad input: a file instead of a directory") {
  TempDir tmp;
  const std::string d = tmp / "plain-file";
  write_file(d, "x");
  check_error([&] { WeightStore::open(d); }, {"plain-file", "not a directory"});
}

TEST_CASE("weight store bad input: directory without weights") {
  TempDir tmp;
  write_file(tmp / "config.json", "{}");
  check_error([&] { WeightStore::open(tmp.path.string()); },
              {tmp.path.string(), "model.safetensors", "model.safetensors.index.json"});
}

TEST_CASE("weight store bad input: index that is not JSON") {
  TempDir tmp;
  write_file(tmp / "model.safetensors.index.json", "{\"weight_map\": {");
  check_error([&] { WeightStore::open(tmp.path.string()); }, {"model.safetensors.index.json", "not valid JSON"});
}

TEST_CASE("weight store bad input: index without weight_map") {
  TempDir tmp;
  write_file(tmp / "model.safetensors.index.json", "{\"metadata\": {}}");
  check_error([&] { WeightStore::open(tmp.path.string()); }, {"model.safetensors.index.json", "weight_map"});
}

TEST_CASE("weight store bad input: index naming a missing shard") {
  TempDir tmp;
  const Sample s;
  const std::vector<SafetensorsWrite> w = sample_writes(s);
  write_sharded(tmp, w);
  test::fs::remove(tmp / "model-00002-of-00002.safetensors");
  check_error([&] { WeightStore::open(tmp.path.string()); },
              {"model.safetensors.index.json", "model-00002-of-00002.safetensors", "does not exist", "model.i32"});
}

TEST_CASE("weight store bad input: shard name outside the directory") {
  TempDir tmp;
  write_file(tmp / "model.safetensors.index.json", "{\"weight_map\": {\"w\": \"../elsewhere.safetensors\"}}");
  check_error([&] { WeightStore::open(tmp.path.string()); },
              {"model.safetensors.index.json", "'w'", "../elsewhere.safetensors", "plain file name"});
}

TEST_CASE("weight store bad input: tensor listed in the index but missing from its shard") {
  TempDir tmp;
  const Sample s;
  const std::vector<SafetensorsWrite> w = sample_writes(s);
  write_sharded(tmp, w);
  json index = json::parse(test::slurp(tmp / "model.safetensors.index.json"));
  index["weight_map"]["model.ghost"] = "model-00001-of-00002.safetensors";
  write_file(tmp / "model.safetensors.index.json", index.dump());
  check_error([&] { WeightStore::open(tmp.path.string()); },
              {"model-00001-of-00002.safetensors", "'model.ghost'", "missing from this shard"});
}

TEST_CASE("weight store bad input: shard holding a tensor the index does not assign to it") {
  TempDir tmp;
  const Sample s;
  const std::vector<SafetensorsWrite> w = sample_writes(s);
  write_sharded(tmp, w);
  json index = json::parse(test::slurp(tmp / "model.safetensors.index.json"));
  index["weight_map"].erase("model.f16");
  write_file(tmp / "model.safetensors.index.json", index.dump());
  check_error([&] { WeightStore::open(tmp.path.string()); },
              {"model-00001-of-00002.safetensors", "'model.f16'", "does not assign"});
}

TEST_CASE("weight store bad input: a malformed shard names the shard and tensor") {
  TempDir tmp;
  write_file(tmp / "model.safetensors",
             raw_safetensors(header_with("b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {16, 32}}}), kData24));
  check_error([&] { WeightStore::open(tmp.path.string()); }, {"model.safetensors", "'b'", "past the end"});
}

// ---- writing ----------------------------------------------------------------------------------

TEST_CASE("safetensors write: no file when the target directory does not exist") {
  TempDir tmp;
  const Sample s;
  const std::string p = tmp / "no-such-dir/model.safetensors";
  check_error([&] { write_safetensors(p, sample_writes(s), {}); }, {p, "no-such-dir", "does not exist"});
  CHECK(!test::fs::exists(p));
  CHECK(!test::fs::exists(p + ".tmp"));
}

TEST_CASE("safetensors write: bad tensors are rejected and leave nothing behind") {
  TempDir tmp;
  const Sample s;
  const std::string p = tmp / "bad.safetensors";
  std::vector<SafetensorsWrite> w = sample_writes(s);
  w.push_back(w[0]);
  check_error([&] { write_safetensors(p, w, {}); }, {"bad.safetensors", "'model.f32'", "twice"});
  check_error([&] { write_safetensors(p, {{"x", DType::f32, Shape{2, -1}, s.f32.data()}}, {}); },
              {"bad.safetensors", "'x'", "negative dimension"});
  check_error([&] { write_safetensors(p, {{"x", DType::f32, Shape{2}, nullptr}}, {}); },
              {"bad.safetensors", "'x'", "null"});
  check_error([&] { write_safetensors(p, {{"__metadata__", DType::f32, Shape{2}, s.f32.data()}}, {}); },
              {"bad.safetensors", "reserved"});
  CHECK(!test::fs::exists(p));
  CHECK(!test::fs::exists(p + ".tmp"));
}

TEST_CASE("safetensors write: replacing an existing file is atomic and complete") {
  TempDir tmp;
  const Sample s;
  const std::string p = tmp / "model.safetensors";
  write_safetensors(p, sample_writes(s), {});
  const std::vector<float> other{9.0f, 8.0f};
  write_safetensors(p, {{"only", DType::f32, Shape{2}, other.data()}}, {});
  const SafetensorsFile f(p);
  REQUIRE(f.tensors().size() == 1);
  CHECK(std::memcmp(f.find("only")->data, other.data(), 8) == 0);
  CHECK(!test::fs::exists(p + ".tmp"));
}

}  // namespace
}  // namespace braid
