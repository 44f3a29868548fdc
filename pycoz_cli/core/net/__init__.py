"""Networks: namespaces, links and addresses over rtnetlink, impairments,
topology files, named topologies and their holders (rootless)."""
