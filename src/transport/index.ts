/**
 * Transports: the {@link Transport} seam between the protocol and the network, the socket
 * implementation ({@link UdpTcpTransport}) and the in-process one ({@link MemoryNetwork}).
 */
export * from './memory.ts';
export * from './transport.ts';
export * from './udp-tcp.ts';
