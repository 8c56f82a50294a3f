"""From a LINE webhook to a reply: signature, event shape, dispatch, handler registry."""
