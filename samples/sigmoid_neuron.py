"""A sigmoid neuron: sigma(w0*x0 + w1*x1 + w2), the classic backpropagation example."""
import math


def neuron(w, x):
    z = w[0] * x[0] + w[1] * x[1] + w[2]
    return 1 / (1 + math.exp(-z))
