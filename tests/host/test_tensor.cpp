// tests/host/test_tensor.cpp: rnn::Tensor construction, checked sizes and
// shape printing.
#include <cstdint>
#include <limits>

#include "testbed.hpp"

namespace {

TEST(Tensor, ZeroFilledWithShape) {
  rnn::Tensor t({2, 3, 4});
  EXPECT_EQ(t.rank(), 3);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.dim(1), 3);
  EXPECT_TRUE(testbed::all_zero(t));
  EXPECT_FALSE(t.empty());
  EXPECT_TRUE(rnn::Tensor().empty());
}

TEST(Tensor, RankZeroHoldsOneElement) {
  rnn::Tensor t(std::vector<int64_t>{});
  EXPECT_EQ(t.numel(), 1);
  EXPECT_EQ(t.rank(), 0);
}

TEST(Tensor, DataMustMatchShape) {
  EXPECT_NO_THROW(rnn::Tensor({2, 2}, {1, 2, 3, 4}));
  EXPECT_THROW(rnn::Tensor({2, 2}, {1, 2, 3}), rnn::Error);
}

TEST(Tensor, NegativeExtentIsAnError) { EXPECT_THROW(rnn::Tensor({2, -1}), rnn::Error); }

TEST(Tensor, OverflowingShapeIsAnErrorNotAnAllocation) {
  const int64_t big = int64_t{1} << 32;
  EXPECT_THROW(rnn::checked_numel({big, big, big}), rnn::Error);
  EXPECT_THROW(rnn::Tensor({big, big}), rnn::Error);  // 2^64 elements: refused before allocating
  EXPECT_EQ(rnn::checked_numel({big, 0, big}), 0);
}

TEST(Tensor, ShapeString) {
  EXPECT_EQ(rnn::shape_string({5, 2, 4}), "[5, 2, 4]");
  EXPECT_EQ(rnn::shape_string({}), "[]");
}

}  // namespace
