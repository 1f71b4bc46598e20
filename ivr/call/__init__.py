"""What a call does next, without Flask: navigate (position, digits, misses, open?) → step, render → TwiML."""
