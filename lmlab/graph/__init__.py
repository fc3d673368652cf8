"""Node classification on graphs (``lmlab train --task graph``): the LINQS reader and the named ``cora``
(:mod:`lmlab.graph.data`), the full-batch training task (:mod:`lmlab.graph.task`), and the GCN, GAT, GraphSAGE, MLP
and label-propagation families (:mod:`lmlab.graph.models`), built from :mod:`lmlab.nn.graph`."""
