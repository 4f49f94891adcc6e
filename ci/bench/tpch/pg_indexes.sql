-- PostgreSQL only: the foreign-key (join-key) and date indexes a DBA would add for these
-- queries; DuckDB scans columnar data with zone maps and does not use them for joins.
create index on nation (n_regionkey);
create index on supplier (s_nationkey);
create index on customer (c_nationkey);
create index on partsupp (ps_suppkey);
create index on orders (o_custkey);
create index on orders (o_orderdate);
create index on lineitem (l_partkey, l_suppkey);
create index on lineitem (l_suppkey);
create index on lineitem (l_shipdate);
vacuum analyze;
