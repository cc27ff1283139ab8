"""Polar to Cartesian coordinates: a vector-valued function of two inputs."""
from math import cos, sin


def polar(r, theta):
    return r * cos(theta), r * sin(theta)
