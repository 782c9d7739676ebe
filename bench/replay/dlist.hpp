#pragma once
// Index-linked doubly linked lists over a node pool: the queues of LRU, FIFO, ARC, 2Q, S3-FIFO...
// Nodes never move, so a flat_map can point at them by index.
#include <cstdint>
#include <vector>

namespace belady::replay {

inline constexpr std::uint32_t nil = 0xffffffffu;

template <class Payload>
class node_pool {
 public:
  struct node {
    std::uint32_t prev = nil, next = nil;
    Payload data{};
  };

  std::uint32_t allocate(const Payload& p) {
    std::uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
      nodes_[i] = node{nil, nil, p};
    } else {
      i = static_cast<std::uint32_t>(nodes_.size());
      nodes_.push_back(node{nil, nil, p});
    }
    return i;
  }
  void release(std::uint32_t i) { free_.push_back(i); }
  node& operator[](std::uint32_t i) { return nodes_[i]; }
  const node& operator[](std::uint32_t i) const { return nodes_[i]; }

 private:
  std::vector<node> nodes_;
  std::vector<std::uint32_t> free_;
};

/// A list of pool nodes: head = most recently pushed, tail = oldest.
template <class Payload>
class dlist {
 public:
  using pool = node_pool<Payload>;

  void push_front(pool& p, std::uint32_t i) {
    p[i].prev = nil;
    p[i].next = head_;
    if (head_ != nil) p[head_].prev = i;
    head_ = i;
    if (tail_ == nil) tail_ = i;
    ++size_;
  }
  void unlink(pool& p, std::uint32_t i) {
    auto& n = p[i];
    if (n.prev != nil) p[n.prev].next = n.next; else head_ = n.next;
    if (n.next != nil) p[n.next].prev = n.prev; else tail_ = n.prev;
    n.prev = n.next = nil;
    --size_;
  }
  void move_to_front(pool& p, std::uint32_t i) {
    if (head_ == i) return;
    unlink(p, i);
    push_front(p, i);
  }
  [[nodiscard]] std::uint32_t head() const { return head_; }
  [[nodiscard]] std::uint32_t tail() const { return tail_; }
  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

 private:
  std::uint32_t head_ = nil, tail_ = nil;
  std::size_t size_ = 0;
};

}  // namespace belady::replay
