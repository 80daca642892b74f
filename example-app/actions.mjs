// The example app's actions: a small encoder inventory and ticket desk that user-defined APIs can expose.

const encoders = new Map([
  ['enc-1', { id: 'enc-1', name: 'Studio A', status: 'running', bitrateKbps: 8000 }],
  ['enc-2', { id: 'enc-2', name: 'Studio B', status: 'stopped', bitrateKbps: 6000 }],
  ['enc-3', { id: 'enc-3', name: 'Outside broadcast', status: 'running', bitrateKbps: 12000 }],
]);
const tickets = [];
const MAX_TICKETS = 1000;

export function registerExampleActions(udapi) {
  // GET encoders?status=running — a list, filtered by a query parameter.
  udapi.registerHandler('encoders.list', (input) => {
    const status = input.queryParameters.get('status');
    const items = [...encoders.values()].filter((encoder) => !status || encoder.status === status);
    return { responseCode: 200, responseBody: { items } };
  });

  // GET encoders/{id} — one item by route parameter; the handler decides the methods it supports.
  udapi.registerHandler('encoders.get', (input) => {
    if (input.requestMethod !== 'GET')
      return { responseCode: 405, responseBody: { error: 'Use GET' }, headers: { Allow: 'GET' } };
    const encoder = encoders.get(input.routeParameters.id ?? '');
    if (!encoder) return { responseCode: 404, responseBody: { error: `No encoder ${input.routeParameters.id}` } };
    return { responseCode: 200, responseBody: encoder };
  });

  // POST tickets with inputType "parameters": the body arrives as a flat map of strings.
  udapi.registerHandler('tickets.create', (input) => {
    const { title, priority = 'normal' } = input.parameters;
    if (!title) return { responseCode: 400, responseBody: { error: 'title is required' } };
    const ticket = {
      id: tickets.length + 1,
      title,
      priority,
      openedBy: input.context.tokenName,
      at: new Date().toISOString(),
    };
    tickets.push(ticket);
    if (tickets.length > MAX_TICKETS) tickets.shift();
    return { responseCode: 201, responseBody: ticket, headers: { Location: `tickets/${ticket.id}` } };
  });

  // Any method, any body: shows exactly what a handler receives.
  udapi.registerHandler('debug.echo', (input) => ({
    responseCode: 200,
    responseBody: {
      requestMethod: input.requestMethod,
      route: input.route,
      routeTemplate: input.routeTemplate,
      routeParameters: input.routeParameters,
      query: input.queryParameters,
      rawBody: input.rawBody,
      parameters: input.parameters,
      tokenName: input.context.tokenName,
    },
  }));

  // A procedure: runs with the body's parameters, succeeds with 200 and an empty body.
  udapi.registerProcedure('encoders.restart', { parameters: ['encoderId'] }, async ({ encoderId }, context) => {
    const encoder = encoders.get(encoderId);
    if (!encoder) throw new Error(`No encoder ${encoderId}`);
    encoder.status = 'restarting';
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 200);
      context.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('aborted'));
      });
    });
    encoder.status = 'running';
  });
}
