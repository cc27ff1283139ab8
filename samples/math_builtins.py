"""math functions (both spellings) and the builtins max and abs."""
import math
from math import sin


def f(x, y):
    return max(x * y, abs(x - y)) + sin(x) * math.exp(-y) + math.sqrt(x * x + y * y)
