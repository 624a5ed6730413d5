// main.js - the console's entry point (placeholder until the views land).
document.getElementById('view').textContent = 'ticketd console';
