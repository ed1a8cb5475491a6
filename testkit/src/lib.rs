//! A reference model of a memcached 1.6 server (text and meta protocol).
