// Globals that the page scripts add to window, for type checking only.

interface Window {
  /** Test hook set by js/join.js: the peer connection to each remote peer id. */
  __videoCall: { readonly peerConnections: Map<string, RTCPeerConnection> };
}
