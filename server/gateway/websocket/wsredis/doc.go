// Package wsredis is a websocket.Fleet on the Redis the gateway nodes
// share (--redis): a callback API call sent to any node reaches a
// connection held by any other.
//
// Each connection has an entry, a JSON string under "tollgate:ws:c:{id}"
// naming the node that holds it, written when the connection is
// registered, rewritten on group changes and by the holding node's
// heartbeat (every TTL/3, one pipelined SET per connection), and deleted
// when it ends. An entry expires TTL after its node's last heartbeat, so
// the connections of a node that died are gone (410) within the TTL.
//
// Calls travel through Redis only: a call for another node's connection
// is PUBLISHed on that node's channel and answered on the caller's reply
// channel; a broadcast is PUBLISHed on the fleet's channel and answered by
// every node. Redis is the fleet's one trust boundary (it already holds
// every throttle and quota): nodes open no port to each other and need no
// address or secret beyond the Redis URL, so this adds no way in for an
// outsider. The cost is a Pub/Sub hop each way per forwarded call (the
// message out, a small answer back), and messages bounded by Redis's
// Pub/Sub output buffers.
package wsredis
