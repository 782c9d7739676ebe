#pragma once
// A strict JSON (RFC 8259) parser for tests: it accepts exactly the grammar, requires well-formed
// UTF-8 and paired surrogates, and also rejects duplicate member names (which the RFC only
// discourages) since an exporter writing one has a bug. Errors name the byte offset.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace belady::test {

struct json_value {
  enum class kind { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool boolean = false;
  double number = 0;
  std::string number_text;  ///< as written, for integers past 2^53
  std::string string;       ///< unescaped
  /// An array's elements, or an object's member values in written order. (A vector of
  /// name-value pairs would need json_value complete, which it is not yet here.)
  std::vector<json_value> elements;
  std::vector<std::string> keys;  ///< an object's member names, parallel to elements

  [[nodiscard]] bool has(std::string_view key) const {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
  /// The member called key; throws std::out_of_range when there is none.
  [[nodiscard]] const json_value& operator[](std::string_view key) const {
    const auto it = std::find(keys.begin(), keys.end(), key);
    if (it == keys.end()) throw std::out_of_range("no member \"" + std::string(key) + "\"");
    return elements[static_cast<std::size_t>(it - keys.begin())];
  }
  [[nodiscard]] const json_value& operator[](std::size_t i) const { return elements.at(i); }
  [[nodiscard]] bool is_null() const { return type == kind::null; }
};

class json_error : public std::runtime_error {
 public:
  json_error(std::size_t offset, const std::string& reason)
      : std::runtime_error("offset " + std::to_string(offset) + ": " + reason), offset_(offset) {}
  [[nodiscard]] std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

namespace json_detail {

class parser {
 public:
  explicit parser(std::string_view text) : text_(text) {}

  json_value parse_document() {
    skip_whitespace();
    json_value v = parse_value();
    skip_whitespace();
    if (pos_ != text_.size()) fail("text after the value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& reason) const { throw json_error(pos_, reason); }
  [[nodiscard]] bool done() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return done() ? '\0' : text_[pos_]; }
  [[nodiscard]] unsigned char byte_at(std::size_t i) const { return static_cast<unsigned char>(text_[i]); }

  void skip_whitespace() {
    while (!done() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) ++pos_;
  }
  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }
  void expect_word(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) fail("expected " + std::string(word));
    pos_ += word.size();
  }

  json_value parse_value() {
    json_value v;
    switch (peek()) {
      case '{': parse_object(v); break;
      case '[': parse_array(v); break;
      case '"':
        v.type = json_value::kind::string;
        v.string = parse_string();
        break;
      case 't':
      case 'f':
        v.type = json_value::kind::boolean;
        v.boolean = peek() == 't';
        expect_word(v.boolean ? "true" : "false");
        break;
      case 'n': expect_word("null"); break;
      default: parse_number(v);
    }
    return v;
  }

  void parse_object(json_value& v) {
    v.type = json_value::kind::object;
    expect('{');
    skip_whitespace();
    if (peek() == '}') return void(++pos_);
    while (true) {
      skip_whitespace();
      if (peek() != '"') fail("expected a member name");
      std::string key = parse_string();
      if (v.has(key)) fail("duplicate member \"" + key + "\"");
      skip_whitespace();
      expect(':');
      skip_whitespace();
      v.keys.push_back(std::move(key));
      v.elements.push_back(parse_value());
      skip_whitespace();
      if (peek() == '}') return void(++pos_);
      expect(',');
    }
  }

  void parse_array(json_value& v) {
    v.type = json_value::kind::array;
    expect('[');
    skip_whitespace();
    if (peek() == ']') return void(++pos_);
    while (true) {
      skip_whitespace();
      v.elements.push_back(parse_value());
      skip_whitespace();
      if (peek() == ']') return void(++pos_);
      expect(',');
    }
  }

  /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  void parse_number(json_value& v) {
    const std::size_t start = pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (peek() >= '0' && peek() <= '9') ++pos_;
      return pos_ - from;
    };
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (digits() == 0) {
      fail("expected a value");
    }
    if (peek() == '.') {
      ++pos_;
      if (digits() == 0) fail("expected digits after the decimal point");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (digits() == 0) fail("expected digits in the exponent");
    }
    v.type = json_value::kind::number;
    v.number_text = std::string(text_.substr(start, pos_ - start));
    std::from_chars(v.number_text.data(), v.number_text.data() + v.number_text.size(), v.number);
  }

  std::string parse_string() {
    expect('"');
    std::string out;
    while (true) {
      if (done()) fail("unterminated string");
      const unsigned char c = byte_at(pos_);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20) fail("unescaped control character in a string");
      if (c == '\\') {
        ++pos_;
        parse_escape(out);
      } else if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
      } else {
        copy_utf8_sequence(out);
      }
    }
  }

  void parse_escape(std::string& out) {
    const char e = peek();
    ++pos_;
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': append_code_point(out, parse_u_escape_code_point()); break;
      default: fail("invalid escape '\\" + std::string(1, e) + "'");
    }
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > text_.size()) fail("short \\u escape");
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text_.data() + pos_, text_.data() + pos_ + 4, value, 16);
    if (ec != std::errc{} || end != text_.data() + pos_ + 4) fail("bad \\u escape");
    pos_ += 4;
    return value;
  }

  /// After "\u": one code point, joining a surrogate pair.
  unsigned parse_u_escape_code_point() {
    const unsigned first = parse_hex4();
    if (first >= 0xDC00 && first <= 0xDFFF) fail("lone low surrogate");
    if (first < 0xD800 || first > 0xDBFF) return first;
    if (text_.substr(pos_, 2) != "\\u") fail("high surrogate without its low half");
    pos_ += 2;
    const unsigned second = parse_hex4();
    if (second < 0xDC00 || second > 0xDFFF) fail("high surrogate without its low half");
    return 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
  }

  static void append_code_point(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  /// A multi-byte UTF-8 sequence, checked for overlong forms, surrogates and range.
  void copy_utf8_sequence(std::string& out) {
    const unsigned char lead = byte_at(pos_);
    if (lead < 0xC2 || lead > 0xF4) fail("invalid UTF-8 lead byte");
    const std::size_t length = lead <= 0xDF ? 2 : lead <= 0xEF ? 3 : 4;
    // The second byte's range excludes overlong forms (E0, F0), surrogates (ED) and code points
    // past U+10FFFF (F4).
    unsigned char low = 0x80, high = 0xBF;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
    if (pos_ + length > text_.size()) fail("truncated UTF-8 sequence");
    if (byte_at(pos_ + 1) < low || byte_at(pos_ + 1) > high) fail("invalid UTF-8 sequence");
    for (std::size_t k = 2; k < length; ++k)
      if (byte_at(pos_ + k) < 0x80 || byte_at(pos_ + k) > 0xBF) fail("invalid UTF-8 sequence");
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

}  // namespace json_detail

/// Parses one JSON document; throws json_error at the first problem.
inline json_value parse_json(std::string_view text) { return json_detail::parser(text).parse_document(); }

}  // namespace belady::test
