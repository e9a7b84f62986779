"""churnplan: plan Azure Site Recovery replication of VMware estates from measured disk churn."""

__version__ = "0.1.0"
