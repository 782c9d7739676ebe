#pragma once
// A strict parser of the Prometheus text exposition format, version 0.0.4, for tests. It reads
// what a Prometheus server reads and, beyond that, rejects what the format document forbids or
// promtool's linter warns about, so that a test passing here means a clean scrape:
//  - a sample whose family has no TYPE line before it, a HELP or TYPE given twice, a TYPE line
//    after samples of its family, lines of one family not grouped together;
//  - bad metric or label names (label names starting with "__" included), a label given twice
//    in one sample, the same series (name and label set) twice;
//  - a counter whose name does not end in _total, a negative counter;
//  - histograms: per label set, _bucket series with le strictly increasing and counts never
//    decreasing, a le="+Inf" bucket equal to _count, a _sum;
//  - malformed lines (unterminated label values, unknown escapes, bad numbers, trailing text, a
//    last line without its line feed).
// Each error names the line (1-based) and the reason. Escapes are decoded in what it returns.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace belady::test {

using prom_labels = std::vector<std::pair<std::string, std::string>>;

struct prom_sample {
  std::string name;    ///< the sample's own name, e.g. x_bucket for a histogram x
  prom_labels labels;  ///< as written, values unescaped
  double value = 0;
  std::string value_text;  ///< as written: exact even where a double is not (counters past 2^53)
  std::optional<std::int64_t> timestamp_ms;
  int line = 0;

  [[nodiscard]] std::optional<std::string> label(std::string_view label_name) const {
    for (const auto& [n, v] : labels)
      if (n == label_name) return v;
    return std::nullopt;
  }
};

struct prom_family {
  std::string name;
  std::string type;  ///< counter, gauge, histogram, summary or untyped
  std::string help;  ///< unescaped
  bool has_help = false;
  int type_line = 0;
  std::vector<prom_sample> samples;
};

struct prom_exposition {
  std::vector<prom_family> families;  ///< in order of appearance

  [[nodiscard]] const prom_family* family(std::string_view name) const {
    for (const prom_family& f : families)
      if (f.name == name) return &f;
    return nullptr;
  }

  /// Every sample called sample_name whose labels include all of wanted.
  [[nodiscard]] std::vector<const prom_sample*> find(std::string_view sample_name, const prom_labels& wanted = {}) const {
    std::vector<const prom_sample*> out;
    for (const prom_family& f : families)
      for (const prom_sample& s : f.samples)
        if (s.name == sample_name && includes(s, wanted)) out.push_back(&s);
    return out;
  }

  /// The value of the one sample find() matches; throws std::out_of_range unless exactly one does.
  [[nodiscard]] double value(std::string_view sample_name, const prom_labels& wanted = {}) const {
    const auto found = find(sample_name, wanted);
    if (found.size() != 1)
      throw std::out_of_range(std::string(sample_name) + ": " + std::to_string(found.size()) + " samples match, not 1");
    return found.front()->value;
  }

 private:
  static bool includes(const prom_sample& s, const prom_labels& wanted) {
    return std::all_of(wanted.begin(), wanted.end(), [&](const auto& w) { return s.label(w.first) == w.second; });
  }
};

class prom_parse_error : public std::runtime_error {
 public:
  prom_parse_error(int line, const std::string& reason)
      : std::runtime_error("line " + std::to_string(line) + ": " + reason), line_(line), reason_(reason) {}
  [[nodiscard]] int line() const noexcept { return line_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  int line_;
  std::string reason_;
};

namespace prom_detail {

inline bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_metric_char(char c) { return is_name_start(c) || is_digit(c) || c == ':'; }
inline bool is_label_char(char c) { return is_name_start(c) || is_digit(c); }
inline bool is_blank(char c) { return c == ' ' || c == '\t'; }

inline bool is_metric_name(std::string_view s) {
  return !s.empty() && !is_digit(s.front()) && std::all_of(s.begin(), s.end(), is_metric_char);
}

/// A sample value: a decimal float, or +Inf, -Inf, Inf, NaN spelled as Prometheus writes them.
inline std::optional<double> parse_value(std::string_view s) {
  if (s == "+Inf" || s == "Inf") return std::numeric_limits<double>::infinity();
  if (s == "-Inf") return -std::numeric_limits<double>::infinity();
  if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  std::string_view digits = s;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) digits.remove_prefix(1);
  // from_chars also takes "inf", "nan" and other spellings; only plain decimals pass from here.
  if (digits.empty() || !(is_digit(digits.front()) || digits.front() == '.')) return std::nullopt;
  double x = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), x);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return negative ? -x : x;
}

inline std::string series_key(std::string_view name, prom_labels labels) {
  std::sort(labels.begin(), labels.end());
  std::string key(name);
  for (const auto& [n, v] : labels) key += '\0' + n + '\0' + v;
  return key;
}

/// The name of the histogram or summary a sample called name would belong to, given its suffix.
inline std::optional<std::pair<std::string_view, std::string_view>> split_suffix(std::string_view name) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"})
    if (name.size() > suffix.size() && name.ends_with(suffix))
      return std::pair{name.substr(0, name.size() - suffix.size()), suffix};
  return std::nullopt;
}

/// Reads one line left to right; every error names the line.
class line_cursor {
 public:
  line_cursor(std::string_view text, int line) : text_(text), line_(line) {}

  [[noreturn]] void fail(const std::string& reason) const { throw prom_parse_error(line_, reason); }
  [[nodiscard]] bool done() const { return pos_ >= text_.size(); }
  [[nodiscard]] char peek() const { return done() ? '\0' : text_[pos_]; }
  void advance() { ++pos_; }
  void skip_blanks() {
    while (!done() && is_blank(text_[pos_])) ++pos_;
  }
  /// At least one blank, then any more.
  void expect_blank(std::string_view before_what) {
    if (!is_blank(peek())) fail("expected a blank before " + std::string(before_what));
    skip_blanks();
  }
  void expect(char c, std::string_view context) {
    if (peek() != c) fail("expected '" + std::string(1, c) + "' " + std::string(context));
    advance();
  }
  template <class Pred>
  std::string_view take_while(Pred pred) {
    const std::size_t start = pos_;
    while (!done() && pred(text_[pos_])) ++pos_;
    return text_.substr(start, pos_ - start);
  }
  std::string_view take_token() {
    return take_while([](char c) { return !is_blank(c); });
  }
  std::string_view rest() {
    const auto r = text_.substr(std::min(pos_, text_.size()));
    pos_ = text_.size();
    return r;
  }

  /// Text up to the closing quote, decoding the escapes that `allowed` lists (after a backslash).
  std::string take_escaped(std::string_view allowed, char terminator, bool until_end) {
    std::string out;
    while (true) {
      if (done()) {
        if (until_end) return out;
        fail("unterminated label value");
      }
      const char c = text_[pos_++];
      if (!until_end && c == terminator) return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (done() || allowed.find(text_[pos_]) == std::string_view::npos)
        fail(done() ? "backslash at the end of the line" : "invalid escape sequence '\\" + std::string(1, text_[pos_]) + "'");
      const char e = text_[pos_++];
      out += e == 'n' ? '\n' : e;
    }
  }

  [[nodiscard]] int line() const { return line_; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_;
};

class parser {
 public:
  prom_exposition parse(std::string_view text) {
    if (!text.empty() && text.back() != '\n')
      throw prom_parse_error(count_lines(text), "the last line does not end with a line feed");
    int number = 0;
    for (std::size_t start = 0; start < text.size();) {
      const std::size_t end = text.find('\n', start);
      ++number;
      parse_line(text.substr(start, end - start), number);
      start = end + 1;
    }
    close_current();
    return std::move(result_);
  }

 private:
  static int count_lines(std::string_view text) {
    return static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  }

  void parse_line(std::string_view text, int number) {
    line_cursor cur(text, number);
    if (text.empty()) return;  // the format allows empty lines
    if (text.front() == '#') {
      cur.advance();
      parse_comment(cur);
    } else {
      parse_sample(cur);
    }
  }

  // --- HELP and TYPE.

  void parse_comment(line_cursor& cur) {
    cur.skip_blanks();
    const std::string_view keyword = cur.take_token();
    if (keyword != "HELP" && keyword != "TYPE") return;  // any other comment is ignored
    cur.expect_blank("the metric name");
    const std::string name(cur.take_token());
    if (!is_metric_name(name)) cur.fail("bad metric name '" + name + "'");
    if (keyword == "HELP") {
      std::string help;
      if (!cur.done()) {
        cur.expect_blank("the help text");
        help = cur.take_escaped("\\n", '\0', true);
      }
      on_help(cur, name, std::move(help));
    } else {
      cur.expect_blank("the metric type");
      const std::string type(cur.take_token());
      cur.skip_blanks();
      if (!cur.done()) cur.fail("unexpected text after the metric type");
      on_type(cur, name, type);
    }
  }

  void on_help(const line_cursor& cur, const std::string& name, std::string help) {
    prom_family& f = family_named(name);
    if (f.has_help) cur.fail("duplicate HELP line for '" + name + "'");
    enter(cur, f);
    f.help = std::move(help);
    f.has_help = true;
  }

  void on_type(const line_cursor& cur, const std::string& name, const std::string& type) {
    static const std::set<std::string, std::less<>> types = {"counter", "gauge", "histogram", "summary", "untyped"};
    if (!types.contains(type)) cur.fail("unknown metric type '" + type + "'");
    prom_family& f = family_named(name);
    if (!f.type.empty()) cur.fail("duplicate TYPE line for '" + name + "'");
    if (!f.samples.empty() || sample_names_.contains(name))
      cur.fail("TYPE line for '" + name + "' after samples of its family");
    if (type == "counter" && !name.ends_with("_total")) cur.fail("counter '" + name + "' does not end in _total");
    enter(cur, f);
    f.type = type;
    f.type_line = cur.line();
  }

  // --- Samples.

  void parse_sample(line_cursor& cur) {
    prom_sample s;
    s.line = cur.line();
    s.name = std::string(cur.take_while(is_metric_char));
    if (!is_metric_name(s.name))
      cur.fail(s.name.empty() ? "expected a metric name" : "bad metric name '" + s.name + "'");
    if (cur.peek() == '{') s.labels = parse_labels(cur);
    cur.expect_blank("the value");
    s.value_text = std::string(cur.take_token());
    const auto value = parse_value(s.value_text);
    if (!value) cur.fail("bad value '" + s.value_text + "'");
    s.value = *value;
    parse_timestamp(cur, s);
    add_sample(cur, std::move(s));
  }

  static void parse_timestamp(line_cursor& cur, prom_sample& s) {
    cur.skip_blanks();
    if (cur.done()) return;
    const std::string_view text = cur.take_token();
    std::int64_t ms = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    if (ec != std::errc{} || end != text.data() + text.size()) cur.fail("bad timestamp '" + std::string(text) + "'");
    s.timestamp_ms = ms;
    cur.skip_blanks();
    if (!cur.done()) cur.fail("unexpected text after the timestamp");
  }

  static prom_labels parse_labels(line_cursor& cur) {
    prom_labels labels;
    cur.expect('{', "");
    cur.skip_blanks();
    while (cur.peek() != '}') {
      const std::string name(cur.take_while(is_label_char));
      if (name.empty() || is_digit(name.front())) cur.fail("expected a label name");
      if (name.starts_with("__")) cur.fail("label name '" + name + "' starts with the reserved \"__\"");
      for (const auto& l : labels)
        if (l.first == name) cur.fail("duplicate label '" + name + "'");
      cur.skip_blanks();
      cur.expect('=', "after label name '" + name + "'");
      cur.skip_blanks();
      cur.expect('"', "to open the value of label '" + name + "'");
      labels.emplace_back(name, cur.take_escaped("\\\"n", '"', false));
      cur.skip_blanks();
      if (cur.peek() == ',') {
        cur.advance();
        cur.skip_blanks();
      } else if (cur.peek() != '}') {
        cur.fail("expected ',' or '}' after the value of label '" + name + "'");
      }
    }
    cur.advance();  // past '}'
    return labels;
  }

  /// The family a sample belongs to: the TYPE of its own name, or for a _bucket, _sum or _count
  /// the histogram (or summary) it is part of.
  prom_family& family_of(const line_cursor& cur, const std::string& sample_name) {
    if (auto it = index_.find(sample_name); it != index_.end() && !result_.families[it->second].type.empty())
      return result_.families[it->second];
    if (const auto split = split_suffix(sample_name)) {
      const auto [base, suffix] = *split;
      if (auto it = index_.find(std::string(base)); it != index_.end()) {
        prom_family& f = result_.families[it->second];
        if (f.type == "histogram" || (f.type == "summary" && suffix != "_bucket")) return f;
      }
    }
    cur.fail("sample '" + sample_name + "' has no TYPE line of its family before it");
  }

  void add_sample(const line_cursor& cur, prom_sample s) {
    prom_family& f = family_of(cur, s.name);
    enter(cur, f);
    check_sample_against_type(cur, f, s);
    if (!series_.insert(series_key(s.name, s.labels)).second) cur.fail("duplicate series '" + s.name + "'");
    sample_names_.insert(s.name);
    f.samples.push_back(std::move(s));
  }

  static void check_sample_against_type(const line_cursor& cur, const prom_family& f, const prom_sample& s) {
    const bool is_bucket = f.type == "histogram" && s.name == f.name + "_bucket";
    if (f.type == "histogram" && s.name == f.name)
      cur.fail("histogram sample '" + s.name + "' must end in _bucket, _sum or _count");
    if (is_bucket) {
      const auto le = s.label("le");
      if (!le) cur.fail("bucket '" + s.name + "' has no le label");
      const auto bound = parse_value(*le);
      if (!bound || std::isnan(*bound)) cur.fail("bucket '" + s.name + "' has a bad le \"" + *le + "\"");
    } else if (f.type == "histogram" && s.label("le")) {
      cur.fail("'" + s.name + "' has an le label but is not a bucket");
    }
    if (f.type == "counter" && s.value < 0) cur.fail("counter '" + s.name + "' is negative");
  }

  // --- Families and their grouping.

  prom_family& family_named(const std::string& name) {
    auto [it, added] = index_.try_emplace(name, result_.families.size());
    if (added) {
      result_.families.emplace_back();
      result_.families.back().name = name;
    }
    return result_.families[it->second];
  }

  /// Makes f the family being written; the format wants each family's lines in one group.
  void enter(const line_cursor& cur, prom_family& f) {
    const auto index = index_.at(f.name);
    if (current_ == index) return;
    if (closed_.contains(index)) cur.fail("lines of family '" + f.name + "' are not grouped together");
    close_current();
    current_ = index;
  }

  void close_current() {
    if (!current_) return;
    closed_.insert(*current_);
    const prom_family& f = result_.families[*current_];
    if (f.type == "histogram") check_histogram(f);
  }

  struct histogram_series {
    int first_line = 0;
    std::vector<const prom_sample*> buckets;
    const prom_sample* sum = nullptr;
    const prom_sample* count = nullptr;
  };

  static void check_histogram(const prom_family& f) {
    std::vector<std::pair<std::string, histogram_series>> groups;  // in order of appearance
    for (const prom_sample& s : f.samples) {
      prom_labels without_le;
      for (const auto& l : s.labels)
        if (l.first != "le") without_le.push_back(l);
      const std::string key = series_key("", without_le);
      auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
      if (it == groups.end()) {
        groups.emplace_back(key, histogram_series{});
        it = std::prev(groups.end());
        it->second.first_line = s.line;
      }
      if (s.name == f.name + "_bucket") it->second.buckets.push_back(&s);
      else if (s.name == f.name + "_sum") it->second.sum = &s;
      else it->second.count = &s;
    }
    for (const auto& [key, series] : groups) check_histogram_series(f, series);
  }

  static void check_histogram_series(const prom_family& f, const histogram_series& h) {
    const prom_sample* previous = nullptr;
    for (const prom_sample* b : h.buckets) {
      if (previous) {
        const double le = *parse_value(*b->label("le"));
        const double previous_le = *parse_value(*previous->label("le"));
        if (!(le > previous_le))
          throw prom_parse_error(b->line, "histogram '" + f.name + "': le \"" + *b->label("le") +
                                              "\" does not follow a smaller le (previous \"" +
                                              *previous->label("le") + "\")");
        if (b->value < previous->value)
          throw prom_parse_error(b->line, "histogram '" + f.name + "': bucket count decreases at le \"" +
                                              *b->label("le") + "\"");
      }
      previous = b;
    }
    if (!previous || *parse_value(*previous->label("le")) != std::numeric_limits<double>::infinity())
      throw prom_parse_error(h.first_line, "histogram '" + f.name + "' has a label set without a le=\"+Inf\" bucket");
    if (!h.count) throw prom_parse_error(h.first_line, "histogram '" + f.name + "' has a label set without _count");
    if (h.count->value != previous->value)
      throw prom_parse_error(h.count->line, "histogram '" + f.name + "': _count " + h.count->value_text +
                                                " differs from the +Inf bucket " + previous->value_text);
    if (!h.sum) throw prom_parse_error(h.first_line, "histogram '" + f.name + "' has a label set without _sum");
  }

  prom_exposition result_;
  std::map<std::string, std::size_t, std::less<>> index_;  // family name -> index in result_
  std::optional<std::size_t> current_;
  std::set<std::size_t> closed_;
  std::set<std::string, std::less<>> sample_names_;
  std::set<std::string> series_;
};

}  // namespace prom_detail

/// Parses a whole exposition; throws prom_parse_error at the first problem.
inline prom_exposition parse_prometheus(std::string_view text) { return prom_detail::parser{}.parse(text); }

}  // namespace belady::test
