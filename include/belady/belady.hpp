#pragma once
/// @file
/// Umbrella header.
#include "belady/cache.hpp"
#include "belady/config.hpp"
#include "belady/error.hpp"
#include "belady/types.hpp"
