console.log('bench: not yet built');
